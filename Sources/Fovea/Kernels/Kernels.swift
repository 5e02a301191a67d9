import CFoveaKernels

/// An instruction-set path of the compute kernels. Every path computes the same results (up to
/// float rounding); they differ in speed and in which CPUs can run them.
public enum KernelPath: String, CaseIterable, Sendable {
    /// Plain C for the build's baseline ISA: runs everywhere.
    case portable
    /// AVX2 + FMA (x86-64 since Haswell / Zen).
    case avx2
    /// AVX-512F + FMA (Skylake-X and later).
    case avx512

    /// The path's number in the C kernels (`FOVEA_PATH_*`).
    var cValue: Int32 {
        switch self {
        case .portable: return Int32(FOVEA_PATH_PORTABLE)
        case .avx2: return Int32(FOVEA_PATH_AVX2)
        case .avx512: return Int32(FOVEA_PATH_AVX512)
        }
    }

    /// Whether this CPU (and OS) can run the path.
    public var isSupported: Bool { fovea_path_supported(cValue) != 0 }
}

/// Raw-pointer compute kernels: GEMM, im2col/col2im and pooling. Work is split over
/// `ThreadPool`; the vector code is picked at run time (`detectedPath`) and can be forced per
/// call with `path:` (tests and benchmarks do).
public enum Kernels {
    /// The best path this CPU supports (detected once).
    public static let detectedPath: KernelPath = {
        switch Int(fovea_detect_path()) {
        case Int(FOVEA_PATH_AVX512): return .avx512
        case Int(FOVEA_PATH_AVX2): return .avx2
        default: return .portable
        }
    }()

    /// Every path this CPU can run, slowest first.
    public static var supportedPaths: [KernelPath] { KernelPath.allCases.filter(\.isSupported) }

    /// Human-readable CPU features, e.g. ["sse4.2", "avx", "avx2", "fma"] (empty off x86).
    public static var cpuFeatures: [String] {
        (0..<fovea_cpu_feature_count()).compactMap { index in
            fovea_cpu_feature_has(index) != 0 ? String(cString: fovea_cpu_feature_name(index)) : nil
        }
    }

    static func resolve(_ path: KernelPath?) -> KernelPath {
        let chosen = path ?? detectedPath
        precondition(chosen.isSupported,
                     "kernel path \(chosen.rawValue) is not supported by this CPU; supported: "
                        + supportedPaths.map(\.rawValue).joined(separator: ", "))
        return chosen
    }

    /// The number of chunks to split `work` units of roughly equal cost into: one when the whole
    /// job is smaller than `grain` (threading would cost more than it saves).
    static func chunkCount(work: Double, grain: Double, threads: Int?) -> Int {
        work < grain ? 1 : max(1, threads ?? ThreadPool.threadCount)
    }
}
