import Foundation
import Logging

/// One loaded, warmed-up version of a model, ready for requests.
public final class ModelVersion: Sendable {
    public let name: String
    public let version: Int
    public let file: URL
    public let signature: TensorSignature
    public let batcher: DynamicBatcher
    /// Class names by output index, from `labels.txt` or `index_to_name.json` beside the model.
    public let classNames: [String]?

    init(name: String, version: Int, file: URL, signature: TensorSignature, batcher: DynamicBatcher, classNames: [String]?) {
        self.name = name; self.version = version; self.file = file; self.signature = signature
        self.batcher = batcher; self.classNames = classNames
    }

    /// Runs `batch` through the model (batched with other requests) and returns its outputs.
    public func infer(_ batch: InferenceBatch) async throws(ServingError) -> [Float] {
        try await batcher.submit(batch)
    }
}

/// A version's state, as TF Serving reports it (`START`, `LOADING`, `AVAILABLE`, `UNLOADING`,
/// `END`), with the error of a failed load.
public struct VersionStatus: Sendable, Equatable {
    public enum State: String, Sendable { case start = "START", loading = "LOADING", available = "AVAILABLE", unloading = "UNLOADING", end = "END" }
    public var version: Int
    public var state: State
    /// Why the version is not serving (a load failure), nil when all is well.
    public var error: String?
}

/// A model repository laid out as TF Serving's — `ROOT/NAME/VERSION/model.{safetensors,keras,h5}`,
/// or `ROOT/NAME.{safetensors,keras,h5}` as version 1 — loaded and watched.
///
/// ``poll()`` compares the folder with what is served: a new version is loaded, warmed up and then
/// served (the highest available version is the default); a changed file is reloaded; a removed
/// version leaves the routing table at once and is unloaded after its queued requests have run;
/// a file that fails to load is logged and reported in its version's status while the other
/// versions go on serving. After the first poll, a new or changed file is loaded only once it has
/// stayed the same (size and modification time) between two polls, so a file still being copied
/// in is not read half-written.
public final class ModelRepository: @unchecked Sendable {
    public static let modelFileNames = ["model.safetensors", "model.keras", "model.h5"]
    public static let modelFileExtensions = ["safetensors", "keras", "h5"]

    public let root: URL
    public let options: BatchingOptions
    public let maxRequestBatch: Int
    private let metrics: ServingMetrics?
    private let logger: Logger

    private struct Key: Hashable, Comparable {
        let name: String, version: Int
        static func < (a: Key, b: Key) -> Bool { (a.name, a.version) < (b.name, b.version) }
    }

    private struct Fingerprint: Equatable {
        let path: String, size: Int, modified: Double
    }

    private struct Entry {
        var fingerprint: Fingerprint
        var status: VersionStatus
        var served: ModelVersion?
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    /// New or changed files seen once, waiting to be seen unchanged.
    private var candidates: [Key: Fingerprint] = [:]
    private var polls = 0
    private var watcher: Thread?
    private var stopWatching = false
    private let pollLock = NSLock()

    public init(root: URL, options: BatchingOptions = BatchingOptions(), maxRequestBatch: Int = 1024,
                metrics: ServingMetrics? = nil, logger: Logger = Logger(label: "fovea.serve")) {
        self.root = root
        self.options = options
        self.maxRequestBatch = maxRequestBatch
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether the first poll has finished (every model found then has been loaded or has failed).
    public var isReady: Bool {
        lock.lock(); defer { lock.unlock() }
        return polls > 0
    }

    /// The names of the models in the repository, sorted.
    public var modelNames: [String] {
        lock.lock(); defer { lock.unlock() }
        return Set(entries.keys.map(\.name)).sorted()
    }

    /// The statuses of `name`'s versions, highest first; nil for a model the repository does not have.
    public func status(of name: String) -> [VersionStatus]? {
        lock.lock(); defer { lock.unlock() }
        let list = entries.filter { $0.key.name == name }.sorted { $0.key.version > $1.key.version }.map(\.value.status)
        return list.isEmpty ? nil : list
    }

    /// The available versions of `name`, highest first.
    public func availableVersions(of name: String) -> [Int] {
        lock.lock(); defer { lock.unlock() }
        return entries.filter { $0.key.name == name && $0.value.served != nil }.map(\.key.version).sorted(by: >)
    }

    /// The served version `version` of `name`, or its highest available version when `version` is
    /// nil. Throws ``ServingError`` (404) for an unknown model or version, or one not available.
    public func resolve(_ name: String, version: Int?) throws(ServingError) -> ModelVersion {
        lock.lock(); defer { lock.unlock() }
        let versions = entries.filter { $0.key.name == name }
        guard !versions.isEmpty else {
            throw .notFound("no model named '\(name)'" + (entries.isEmpty ? " (the repository is empty)" : "; models: \(Set(entries.keys.map(\.name)).sorted().joined(separator: ", "))"))
        }
        if let version {
            guard let entry = versions[Key(name: name, version: version)] else {
                throw .notFound("model '\(name)' has no version \(version); versions: \(versions.keys.map(\.version).sorted().map(String.init).joined(separator: ", "))")
            }
            guard let served = entry.served else {
                throw .notFound("version \(version) of model '\(name)' is not available (\(entry.status.state.rawValue)\(entry.status.error.map { ": " + $0 } ?? ""))")
            }
            return served
        }
        guard let best = versions.filter({ $0.value.served != nil }).max(by: { $0.key.version < $1.key.version })?.value.served else {
            let states = versions.sorted { $0.key < $1.key }.map { "version \($0.key.version): \($0.value.status.state.rawValue)\($0.value.status.error.map { " (" + $0 + ")" } ?? "")" }
            throw .notFound("model '\(name)' has no available version; \(states.joined(separator: "; "))")
        }
        return best
    }

    /// Starts a thread that polls the folder every `interval` seconds.
    public func startWatching(interval: Double) {
        lock.lock()
        defer { lock.unlock() }
        guard watcher == nil else { return }
        stopWatching = false
        let thread = Thread { [self] in
            while true {
                lock.lock(); let stop = stopWatching; lock.unlock()
                if stop { return }
                poll()
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "fovea-repository-watcher"
        watcher = thread
        thread.start()
    }

    /// Stops the polling thread (a poll under way finishes) and unloads every version after its
    /// queued requests have run.
    public func shutdown() async {
        let served: [ModelVersion] = lock.withLock {
            stopWatching = true
            let served = entries.values.compactMap(\.served)
            for key in entries.keys where entries[key]?.served != nil {
                entries[key]?.served = nil
                entries[key]?.status.state = .unloading
            }
            return served
        }
        for version in served { await version.batcher.drain() }
        metrics?.modelsLoaded(0)
    }

    /// Compares the folder with what is served and loads, reloads and unloads accordingly.
    /// Loading happens on the calling thread, one version after another.
    public func poll() {
        pollLock.lock()
        defer { pollLock.unlock() }
        let found = scan()
        lock.lock()
        let first = polls == 0
        var removed: [(Key, ModelVersion?)] = []
        for (key, entry) in entries where found[key] == nil {
            removed.append((key, entry.served))
            entries[key] = nil
        }
        candidates = candidates.filter { found[$0.key] != nil }
        var toLoad: [(Key, Fingerprint)] = []
        for (key, fingerprint) in found.sorted(by: { $0.key < $1.key }) {
            if let entry = entries[key], entry.fingerprint == fingerprint { continue }
            if first || candidates[key] == fingerprint {
                candidates[key] = nil
                toLoad.append((key, fingerprint))
            } else {
                candidates[key] = fingerprint
            }
        }
        lock.unlock()

        for (key, old) in removed {
            logger.info("version removed; unloading after its queued requests", metadata: ["model": "\(key.name)", "version": "\(key.version)"])
            if let old { Task { await old.batcher.drain() } }
        }
        for (key, fingerprint) in toLoad { load(key, fingerprint) }

        lock.lock()
        polls += 1
        let available = entries.values.filter { $0.served != nil }.count
        lock.unlock()
        metrics?.modelsLoaded(available)
    }

    private func load(_ key: Key, _ fingerprint: Fingerprint) {
        let url = URL(fileURLWithPath: fingerprint.path)
        let log: Logger.Metadata = ["model": "\(key.name)", "version": "\(key.version)", "file": "\(url.path)"]
        lock.lock()
        let previous = entries[key]?.served
        if previous == nil {
            entries[key] = Entry(fingerprint: fingerprint, status: VersionStatus(version: key.version, state: .loading, error: nil), served: nil)
        }
        lock.unlock()
        logger.info("loading", metadata: log)
        let started = Date()
        let result: Result<ModelVersion, Error> = Result {
            let instances = options.instances
            let runners = try (0..<instances).map { _ in try ServedModel.load(from: url, serial: instances > 1) }
            let signature = TensorSignature(inputName: runners[0].inputName, inputShape: runners[0].inputShape,
                                            outputName: runners[0].outputName, outputShape: runners[0].outputShape,
                                            maxRequestBatch: maxRequestBatch)
            // Warm-up: builds every layer and prepares its weights for the batch sizes served.
            for runner in runners {
                for count in Set([1, Swift.min(options.maxBatchSize, maxRequestBatch)]) {
                    _ = try runner.run([Float](repeating: 0, count: count * runner.inputCount), count: count)
                }
            }
            let batcher = DynamicBatcher(runners: runners, options: options, label: "\(key.name) v\(key.version)",
                                         observer: metrics?.observer(model: key.name, version: key.version))
            return ModelVersion(name: key.name, version: key.version, file: url, signature: signature, batcher: batcher,
                                classNames: Self.classNames(beside: url, count: signature.outputCount))
        }
        lock.lock()
        switch result {
        case let .success(version):
            entries[key] = Entry(fingerprint: fingerprint, status: VersionStatus(version: key.version, state: .available, error: nil), served: version)
            lock.unlock()
            logger.info("available", metadata: log.merging(["seconds": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
                                                              "input": "\(version.signature.inputShape)", "output": "\(version.signature.outputShape)"]) { $1 })
            if let previous { Task { await previous.batcher.drain() } }
        case let .failure(error):
            // A failed reload keeps the previous copy serving.
            entries[key] = Entry(fingerprint: fingerprint,
                                 status: VersionStatus(version: key.version, state: previous == nil ? .end : .available,
                                                       error: "failed to load \(url.lastPathComponent): \(error)"),
                                 served: previous)
            lock.unlock()
            logger.error("failed to load", metadata: log.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// The model files in the folder now, by name and version.
    private func scan() -> [Key: Fingerprint] {
        let fm = FileManager.default
        var found: [Key: Fingerprint] = [:]
        guard let names = try? fm.contentsOfDirectory(atPath: root.path) else {
            logger.error("cannot list the model repository", metadata: ["path": "\(root.path)"])
            return found
        }
        for entry in names.sorted() where !entry.hasPrefix(".") {
            let path = root.appendingPathComponent(entry).path
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                guard Self.isValidName(entry), let versions = try? fm.contentsOfDirectory(atPath: path) else { continue }
                for v in versions {
                    guard let number = Int(v), number >= 0, String(number) == v else { continue }
                    let folder = (path as NSString).appendingPathComponent(v)
                    for file in Self.modelFileNames {
                        let candidate = (folder as NSString).appendingPathComponent(file)
                        if let print = fingerprint(candidate) {
                            found[Key(name: entry, version: number)] = print
                            break
                        }
                    }
                }
            } else {
                let ext = (entry as NSString).pathExtension
                let name = (entry as NSString).deletingPathExtension
                guard Self.modelFileExtensions.contains(ext), Self.isValidName(name) else { continue }
                // A folder of the same name wins.
                var folder: ObjCBool = false
                if fm.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &folder), folder.boolValue { continue }
                if let print = fingerprint(path), found[Key(name: name, version: 1)] == nil {
                    found[Key(name: name, version: 1)] = print
                }
            }
        }
        return found
    }

    private func fingerprint(_ path: String) -> Fingerprint? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) == .typeRegular else { return nil }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return Fingerprint(path: path, size: size, modified: modified)
    }

    /// Model names appear in URLs: letters, digits, `_`, `-` and `.` (not first).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != ".", name.utf8.count <= 128 else { return false }
        return name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "_-.".unicodeScalars.contains($0) }
    }

    /// Class names from `labels.txt` (one per line) or TorchServe's `index_to_name.json`
    /// (`{"0": "name"}` or `{"0": ["id", "name"]}`) in the model file's folder; nil when there are
    /// none or they do not give a name to each of the `count` outputs.
    public static func classNames(beside file: URL, count: Int) -> [String]? {
        let folder = file.deletingLastPathComponent()
        let stem = file.deletingPathExtension().lastPathComponent
        // A plain ROOT/NAME.ext model has its labels in ROOT/NAME.labels.txt.
        let textFiles = stem == "model" ? ["labels.txt"] : ["\(stem).labels.txt"]
        for name in textFiles {
            if let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) {
                let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if lines.count == count { return lines }
            }
        }
        if stem == "model", let bytes = try? [UInt8](Data(contentsOf: folder.appendingPathComponent("index_to_name.json"))),
           let json = try? JSONReader.parse(bytes), case let .object(members) = json {
            var names = [String?](repeating: nil, count: count)
            for (key, value) in members {
                guard let i = Int(key), i >= 0, i < count else { continue }
                switch value {
                case let .string(s): names[i] = s
                case let .array(pair) where pair.count == 2: if case let .string(s) = pair[1] { names[i] = s }
                default: break
                }
            }
            if names.allSatisfy({ $0 != nil }) { return names.map { $0! } }
        }
        return nil
    }
}
