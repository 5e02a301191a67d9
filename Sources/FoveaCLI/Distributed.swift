import Fovea
import Foundation
#if MPI
import FoveaMPI
#endif

/// The ranks `fovea train` trains with: Open MPI's when started by `mpirun` in a build with the MPI
/// trait (docs/DISTRIBUTED.md), nil otherwise (training alone, as always).
func launchCommunicator() throws -> Communicator? {
    let underMPIRun = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
    #if MPI
    guard underMPIRun else { return nil }
    let comm = try MPICommunicator()
    return comm
    #else
    if underMPIRun {
        FileHandle.standardError.write("note: this fovea was built without the MPI trait (swift build -c release --traits MPI), so each process mpirun started trains alone\n".data(using: .utf8)!)
    }
    return nil
    #endif
}

/// Ends MPI cleanly after a successful run.
func finishCommunicator(_ comm: Communicator?) throws {
    #if MPI
    if let mpi = comm as? MPICommunicator { try mpi.finalize() }
    #endif
}

/// Worker threads per rank when --threads is not given: the cores shared by the ranks on this machine.
func defaultThreadsPerRank() -> Int? {
    guard let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init), local > 0 else { return nil }
    return max(1, ProcessInfo.processInfo.activeProcessorCount / local)
}
