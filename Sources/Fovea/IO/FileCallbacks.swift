import Foundation

/// Whether lower values of a monitored quantity are better, as Keras 3 decides it: `mode` when
/// explicit; in auto mode `loss` (and `val_loss`) go down and Fovea's metrics (all accuracies) go
/// up; anything else is an error asking for a mode.
func lowerIsBetter(monitor: String, mode: MonitorMode, callback: String) throws -> Bool {
    switch mode {
    case .min: return true
    case .max: return false
    case .auto:
        let metric = monitor.hasPrefix("val_") ? String(monitor.dropFirst(4)) : monitor
        if metric == "loss" { return true }
        if Metric(rawValue: metric) != nil { return false }
        throw FoveaError("\(callback) callback received monitor=\(monitor), but Fovea isn't able to automatically determine whether that metric should be maximized or minimized. Pass mode: .max in order to monitor based on the highest metric value, or pass mode: .min in order to use the lowest value.")
    }
}

/// Saves the model or its weights during training (Keras `ModelCheckpoint`): after every epoch or
/// every `n` batches, to a path that may hold placeholders (`ckpt.{epoch:02d}-{val_loss:.2f}.safetensors`),
/// optionally only when the monitored value improves. Keras's messages at `verbose` 1.
///
/// A full save (not `saveWeightsOnly`) holds the optimizer state and the training position too,
/// so any checkpoint resumes exactly (`Sequential.load(from:)`, then `fit(…, resumingFrom:)`).
/// Every write is atomic.
public final class ModelCheckpoint: Callback {
    /// When to save: at each epoch's end, or after every `n` batches (counted across epochs).
    public enum SaveFrequency: Sendable, Equatable {
        case epoch
        case batches(Int)
    }

    public let filepath: PathTemplate
    public let monitor: String
    public let verbose: Int
    public let saveBestOnly: Bool
    public let saveWeightsOnly: Bool
    public let mode: MonitorMode
    public let saveFrequency: SaveFrequency
    /// The best monitored value so far (`initialValueThreshold` at first).
    public private(set) var best: Float?
    /// The files written, in order.
    public private(set) var savedPaths: [String] = []
    let print: (String) -> Void
    var lowerIsBetter: Bool?
    var currentEpoch = 0
    var batchesSinceLastSave = 0
    var lastBatchSeen: Int?

    /// - Parameters:
    ///   - filepath: where to save; placeholders `{epoch}` (from 1), `{batch}` (from 1, in batch
    ///     saves) and any log key (`{val_loss:.2f}`), formatted as Python formats them.
    ///   - initialValueThreshold: a value the monitored quantity must beat before the first save
    ///     when `saveBestOnly`.
    public init(filepath: String, monitor: String = "val_loss", verbose: Int = 0, saveBestOnly: Bool = false,
                saveWeightsOnly: Bool = false, mode: MonitorMode = .auto, saveFrequency: SaveFrequency = .epoch,
                initialValueThreshold: Float? = nil, print: @escaping (String) -> Void = { Swift.print($0) }) throws {
        if case .batches(let n) = saveFrequency, n <= 0 {
            throw FoveaError("ModelCheckpoint: saveFrequency .batches(\(n)) must count at least one batch")
        }
        self.filepath = try PathTemplate(filepath)
        self.monitor = monitor; self.verbose = verbose; self.saveBestOnly = saveBestOnly
        self.saveWeightsOnly = saveWeightsOnly; self.mode = mode; self.saveFrequency = saveFrequency
        self.best = initialValueThreshold; self.print = print
    }

    public override func onEpochBegin(_ epoch: Int, logs: Logs) throws { currentEpoch = epoch }

    public override func onBatchEnd(_ batch: Int, logs: Logs) throws {
        guard case .batches(let n) = saveFrequency else { return }
        // Keras counts batches across epochs: a batch index not above the last one starts a new epoch.
        if let last = lastBatchSeen, batch > last { batchesSinceLastSave += batch - last } else { batchesSinceLastSave += batch + 1 }
        lastBatchSeen = batch
        guard batchesSinceLastSave >= n else { return }
        batchesSinceLastSave = 0
        try save(epoch: currentEpoch, batch: batch, logs: logs)
    }

    public override func onEpochEnd(_ epoch: Int, logs: Logs) throws {
        if lowerIsBetter == nil && saveBestOnly { lowerIsBetter = try Fovea.lowerIsBetter(monitor: monitor, mode: mode, callback: "ModelCheckpoint") }
        if saveFrequency == .epoch { try save(epoch: epoch, batch: nil, logs: logs) }
    }

    func path(epoch: Int, batch: Int?, logs: Logs) throws -> String {
        var values = logs.mapValues { PathTemplate.Value.float($0) }
        values["epoch"] = .int(epoch + 1)
        if let batch { values["batch"] = .int(batch + 1) }
        return try filepath.format(values)
    }

    func shouldSave(epoch: Int, logs: Logs, path: String) throws -> Bool {
        guard saveBestOnly else {
            if verbose > 0 { print("\nEpoch \(epoch + 1): saving model to \(path)") }
            return true
        }
        guard let current = logs[monitor] else {
            print("Can save best model only with \(monitor) available.")
            return true
        }
        if lowerIsBetter == nil { lowerIsBetter = try Fovea.lowerIsBetter(monitor: monitor, mode: mode, callback: "ModelCheckpoint") }
        let bestText = best.map { String(format: "%.5f", Double($0)) } ?? "None"
        let improved = best.map { lowerIsBetter! ? current < $0 : current > $0 } ?? true
        if improved {
            if verbose > 0 { print("\nEpoch \(epoch + 1): \(monitor) improved from \(bestText) to \(String(format: "%.5f", Double(current))), saving model to \(path)") }
            best = current
            return true
        }
        if verbose > 0 { print("\nEpoch \(epoch + 1): \(monitor) did not improve from \(bestText)") }
        return false
    }

    func save(epoch: Int, batch: Int?, logs: Logs) throws {
        guard let model else { return }
        let path = try self.path(epoch: epoch, batch: batch, logs: logs)
        guard try shouldSave(epoch: epoch, logs: logs, path: path) else { return }
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw FoveaError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: \(path)")
        }
        let directory = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.path) {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw FoveaError("ModelCheckpoint: cannot create the folder \(directory.path): \(error.localizedDescription)")
            }
        }
        if saveWeightsOnly { try model.saveWeights(to: url) } else { try model.save(to: url) }
        savedPaths.append(path)
        if verbose > 0 { print("\nEpoch \(epoch + 1): finished saving model to \(path)") }
    }
}

/// Streams each epoch's logs to a CSV file (Keras `CSVLogger`): a header `epoch,` and the log keys
/// sorted (with `val_` columns added, `NA`, when there is no validation), then one row per epoch
/// with the 0-based epoch and each value as Python prints a double. Rows end in CRLF and fields
/// are quoted when needed, as Python's `csv` module writes them. With `append`, a file that
/// already has content gets rows but no second header (for resumed training).
public final class CSVLogger: Callback {
    public let url: URL
    public let separator: String
    public let append: Bool
    var handle: FileHandle?
    var keys: [String]?
    var writeHeader = true

    public init(filename: String, separator: String = ",", append: Bool = false) {
        url = URL(fileURLWithPath: filename); self.separator = separator; self.append = append
    }

    public override func onTrainBegin(logs: Logs) throws {
        try? handle?.close()
        handle = nil; keys = nil; writeHeader = true
        let path = url.path
        if append, let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber {
            writeHeader = size.intValue == 0
        }
        if !append || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw FoveaError("CSVLogger: cannot create \(path)")
            }
        }
        do {
            let h = try FileHandle(forWritingTo: url)
            if append { try h.seekToEnd() }
            handle = h
        } catch {
            throw FoveaError("CSVLogger: cannot open \(path) for writing: \(error.localizedDescription)")
        }
    }

    /// Python's `csv` quoting: a field holding the separator, a quote or a line break is quoted,
    /// its quotes doubled.
    func field(_ text: String) -> String {
        guard text.contains(separator) || text.contains("\"") || text.contains("\n") || text.contains("\r") else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public override func onEpochEnd(_ epoch: Int, logs: Logs) throws {
        guard let handle else { return }
        var lines = ""
        if keys == nil {
            var sorted = logs.keys.sorted()
            if !sorted.isEmpty && !sorted.contains(where: { $0.hasPrefix("val_") }) { sorted += sorted.map { "val_" + $0 } }
            keys = sorted
            if writeHeader { lines += (["epoch"] + sorted).map(field).joined(separator: separator) + "\r\n" }
        }
        let values = keys!.map { key in logs[key].map { "\(Double($0))" } ?? "NA" }
        lines += ([String(epoch)] + values).map(field).joined(separator: separator) + "\r\n"
        do { try handle.write(contentsOf: Data(lines.utf8)) } catch {
            throw FoveaError("CSVLogger: cannot write to \(url.path): \(error.localizedDescription)")
        }
    }

    public override func onTrainEnd(logs: Logs) throws {
        try? handle?.close()
        handle = nil
    }
}
