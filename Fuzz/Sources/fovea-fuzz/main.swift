import Foundation
import FoveaFuzzing

// libFuzzer's driver, started from this executable's own main (SwiftPM always gives an executable
// one), so libFuzzer's main is not needed: `fovea-fuzz [libFuzzer flags] [corpus dirs or inputs]`.
// The harness is chosen by FOVEA_FUZZ_HARNESS (scripts/fuzz.sh sets it).

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

let harnessName = ProcessInfo.processInfo.environment["FOVEA_FUZZ_HARNESS"] ?? ""
guard FuzzTargets.names.contains(harnessName) else {
    FileHandle.standardError.write(Data("FOVEA_FUZZ_HARNESS must be one of: \(FuzzTargets.names.joined(separator: " ")) (got '\(harnessName)')\n".utf8))
    exit(2)
}
nonisolated(unsafe) var selectedHarness = harnessName

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    FuzzTargets.run(selectedHarness, bytes)
    return 0
})
