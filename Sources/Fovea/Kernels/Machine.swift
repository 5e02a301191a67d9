import CFoveaKernels
import Foundation

/// What Fovea computes on: the CPU, its caches and SIMD features, and the kernel path chosen.
public struct MachineDescription: Codable, Sendable {
    public let cpuModel: String
    public let cores: Int
    /// Cache levels as reported by Linux, e.g. `L1d 32K`, `L2 512K` (per core), `L3 32768K`.
    public let caches: [String]
    public let features: [String]
    public let kernelPath: String
    public let threads: Int

    /// Reads /proc/cpuinfo and /sys (empty fields where they are unavailable).
    public static func current() -> MachineDescription {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        var caches: [String] = []
        for index in 0..<8 {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = try? String(contentsOfFile: dir + "level", encoding: .utf8),
                  let type = try? String(contentsOfFile: dir + "type", encoding: .utf8),
                  let size = try? String(contentsOfFile: dir + "size", encoding: .utf8) else { break }
            let kind = type.hasPrefix("Data") ? "d" : type.hasPrefix("Instruction") ? "i" : ""
            caches.append("L\(level.trimmingCharacters(in: .whitespacesAndNewlines))\(kind) \(size.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return MachineDescription(cpuModel: model, cores: ProcessInfo.processInfo.activeProcessorCount, caches: caches,
                                  features: Kernels.cpuFeatures, kernelPath: Kernels.detectedPath.rawValue,
                                  threads: ThreadPool.threadCount)
    }
}

extension Kernels {
    /// The measured FMA ceiling in GFLOP/s on `threads` threads (default: the pool's), running
    /// independent multiply-add chains with the widest supported path for about `seconds`.
    public static func measureFMACeiling(threads: Int? = nil, path: KernelPath? = nil, seconds: Double = 0.5) -> Double {
        let p = Int32((path ?? detectedPath) == .avx512 ? 2 : (path ?? detectedPath) == .avx2 ? 1 : 0)
        let perRepeat = Double(fovea_fma_flops_per_repeat(p))
        // Calibrate a repeat count that takes about `seconds` on one thread.
        var repeats = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = fovea_fma_chains(p, repeats)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if elapsed > seconds / 4 || repeats > 1 << 34 { repeats = Int(Double(repeats) * seconds / max(elapsed, 1e-9)); break }
            repeats *= 4
        }
        let n = threads ?? ThreadPool.threadCount
        var best = 0.0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            ThreadPool.parallelFor(n, threads: n) { range in for _ in range { _ = fovea_fma_chains(p, repeats) } }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, perRepeat * Double(repeats) * Double(n) / elapsed / 1e9)
        }
        return best
    }
}
