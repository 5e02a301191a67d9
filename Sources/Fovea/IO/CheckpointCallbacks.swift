import Foundation

/// Saves the model (or its weights) while training (Keras `ModelCheckpoint`, same rules and
/// messages as Keras 3.15).
///
/// `filepath` may hold Python-style placeholders, filled from the epoch (from 1), the batch (from 1,
/// when saving every N batches) and the logs: `"ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"`.
/// With `saveBestOnly`, a file is written only when `monitor` improved (`mode` `.auto` reads the
/// direction from the name: accuracies go up, losses down). Files are written atomically, so a
/// crash while saving leaves the previous file in place.
public final class ModelCheckpoint: Callback {
    /// When to save: after every epoch, or after every `n` batches.
    public enum Frequency: Sendable, Equatable {
        case epoch
        case batches(Int)
    }

    public let filepath: String
    public let monitor: String
    public let verbose: Int
    public let saveBestOnly: Bool
    public let saveWeightsOnly: Bool
    public let mode: MonitorMode
    public let saveFrequency: Frequency
    public private(set) var best: Float?
    /// The last file written, if any.
    public private(set) var lastSaved: URL?
    /// Set when a save failed (the message was printed and training stopped).
    public private(set) var failure: String?
    let template: FilepathTemplate
    let print: (String) -> Void
    var epoch = 0
    var batchesSinceSave = 0

    /// Throws when `filepath` has a malformed placeholder or `saveFrequency` is not positive.
    public init(filepath: String, monitor: String = "val_loss", verbose: Int = 0, saveBestOnly: Bool = false,
                saveWeightsOnly: Bool = false, mode: MonitorMode = .auto, saveFrequency: Frequency = .epoch,
                initialValueThreshold: Float? = nil, print: @escaping (String) -> Void = { Swift.print($0) }) throws {
        if case .batches(let n) = saveFrequency, n <= 0 {
            throw FoveaError("ModelCheckpoint: saveFrequency must be .epoch or a positive number of batches, got \(n)")
        }
        self.template = try FilepathTemplate(filepath)
        self.filepath = filepath; self.monitor = monitor; self.verbose = verbose
        self.saveBestOnly = saveBestOnly; self.saveWeightsOnly = saveWeightsOnly; self.mode = mode
        self.saveFrequency = saveFrequency; self.best = initialValueThreshold; self.print = print
    }

    var lowerIsBetter: Bool {
        switch mode {
        case .min: return true
        case .max: return false
        case .auto:
            let metric = monitor.hasPrefix("val_") ? String(monitor.dropFirst(4)) : monitor
            return !(metric.contains("acc") || metric.contains("auc"))
        }
    }

    public override func onEpochBegin(_ epoch: Int, logs: Logs) { self.epoch = epoch }

    public override func onBatchEnd(_ batch: Int, logs: Logs) {
        guard case .batches(let n) = saveFrequency else { return }
        batchesSinceSave += 1
        if batchesSinceSave >= n {
            batchesSinceSave = 0
            save(epoch: epoch, batch: batch, logs: logs)
        }
    }

    public override func onEpochEnd(_ epoch: Int, logs: Logs) {
        if saveFrequency == .epoch { save(epoch: epoch, batch: nil, logs: logs) }
    }

    func save(epoch: Int, batch: Int?, logs: Logs) {
        guard let model, failure == nil else { return }
        var values: [String: Double] = logs.mapValues(Double.init)
        values["epoch"] = Double(epoch + 1)
        if let batch { values["batch"] = Double(batch + 1) }
        let path: String
        do { path = try template.format(values) } catch {
            fail("\(error)", model: model)
            return
        }
        if saveBestOnly {
            if let current = logs[monitor] {
                let bestText = best.map { String(format: "%.5f", $0) } ?? "None"
                let improved = best.map { lowerIsBetter ? current < $0 : current > $0 } ?? true
                guard improved else {
                    if verbose > 0 { print("\nEpoch \(epoch + 1): \(monitor) did not improve from \(bestText)") }
                    return
                }
                if verbose > 0 {
                    print("\nEpoch \(epoch + 1): \(monitor) improved from \(bestText) to \(String(format: "%.5f", current)), saving model to \(path)")
                }
                best = current
            } else {
                // Keras warns and saves anyway when the monitored value is missing.
                print("Can save best model only with \(monitor) available.")
            }
        } else if verbose > 0 {
            print("\nEpoch \(epoch + 1): saving model to \(path)")
        }
        let url = URL(fileURLWithPath: path)
        do {
            let directory = url.deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if saveWeightsOnly { try model.saveWeights(to: url) } else { try model.save(to: url) }
            lastSaved = url
            if verbose > 0 { print("\nEpoch \(epoch + 1): finished saving model to \(path)") }
        } catch {
            fail("ModelCheckpoint could not save to \(path): \(error)", model: model)
        }
    }

    func fail(_ message: String, model: Model) {
        failure = message
        print(message)
        model.stopTraining = true
    }
}

/// Appends each epoch's logs to a CSV file (Keras `CSVLogger`): a header `epoch,<sorted keys>`,
/// then one row per epoch with the epoch counted from 0. As in Keras, when the first epoch has no
/// `val_` values a `val_` column is still added for every key, holding `NA`. The bytes are Keras
/// 3.15's: values as Python prints the doubles Keras logs (`0.8015267252922058`), rows ending in
/// CRLF (Python's `csv` default), a field holding the separator or a quote quoted.
public final class CSVLogger: Callback {
    public let url: URL
    public let separator: String
    public let append: Bool
    /// Set when the file could not be written (the message was printed and training stopped).
    public private(set) var failure: String?
    var keys: [String]?
    var handle: FileHandle?
    var needsHeader = true
    let print: (String) -> Void

    public init(_ url: URL, separator: String = ",", append: Bool = false,
                print: @escaping (String) -> Void = { Swift.print($0) }) {
        self.url = url; self.separator = separator; self.append = append; self.print = print
    }

    public override func onTrainBegin(logs: Logs) {
        keys = nil; failure = nil
        try? handle?.close()
        let manager = FileManager.default
        do {
            if append, manager.fileExists(atPath: url.path) {
                let size = (try manager.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
                needsHeader = size == 0
            } else {
                guard manager.createFile(atPath: url.path, contents: nil) else {
                    throw FoveaError("cannot create \(url.path)")
                }
                needsHeader = true
            }
            let h = try FileHandle(forWritingTo: url)
            try h.seekToEnd()
            handle = h
        } catch {
            fail("CSVLogger cannot write \(url.path): \(error)")
        }
    }

    public override func onEpochEnd(_ epoch: Int, logs: Logs) {
        guard let handle, failure == nil else { return }
        if keys == nil {
            var k = logs.keys.sorted()
            if !k.contains(where: { $0.hasPrefix("val_") }) { k += k.map { "val_" + $0 } }
            keys = k
        }
        var text = ""
        if needsHeader {
            text += (["epoch"] + keys!).map(field).joined(separator: separator) + "\r\n"
            needsHeader = false
        }
        // Keras logs Python floats (doubles widened from float32); Swift prints a Double as Python does.
        text += ([String(epoch)] + keys!.map { logs[$0].map { "\(Double($0))" } ?? "NA" }).map(field).joined(separator: separator) + "\r\n"
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
        } catch {
            fail("CSVLogger cannot write \(url.path): \(error)")
        }
    }

    public override func onTrainEnd(logs: Logs) {
        try? handle?.close()
        handle = nil
    }

    /// Python's `csv` quoting: a field holding the separator, a quote or a line break is quoted,
    /// its quotes doubled.
    func field(_ text: String) -> String {
        guard text.contains(separator) || text.contains("\"") || text.contains("\n") || text.contains("\r") else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func fail(_ message: String) {
        failure = message
        print(message)
        model?.stopTraining = true
    }
}

/// A file path with Python-format placeholders (`{epoch:02d}`, `{val_loss:.4f}`, `{loss}`), as
/// Keras's `ModelCheckpoint` takes them. Supported specs: none, `d` with optional zero-padded
/// width (`03d`), and `f`/`e` with optional precision (`.2f`, `.3e`).
struct FilepathTemplate {
    enum Piece { case text(String), field(name: String, spec: String) }
    let pieces: [Piece]

    init(_ template: String) throws {
        var pieces: [Piece] = []
        var text = ""
        var chars = Array(template)[...]
        while let c = chars.popFirst() {
            if c == "{" {
                if chars.first == "{" { chars.removeFirst(); text.append("{"); continue }
                guard let close = chars.firstIndex(of: "}") else {
                    throw FoveaError("filepath \"\(template)\" has a '{' without a closing '}'")
                }
                let inside = String(chars[..<close])
                chars = chars[(close + 1)...]
                let parts = inside.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]), spec = parts.count > 1 ? String(parts[1]) : ""
                guard !name.isEmpty else { throw FoveaError("filepath \"\(template)\" has an empty placeholder {}") }
                guard Self.isSupported(spec) else {
                    throw FoveaError("filepath \"\(template)\": unsupported format '\(spec)' for {\(name)}; use d, 02d, .2f or .3e")
                }
                if !text.isEmpty { pieces.append(.text(text)); text = "" }
                pieces.append(.field(name: name, spec: spec))
            } else if c == "}" {
                guard chars.first == "}" else { throw FoveaError("filepath \"\(template)\" has a '}' without an opening '{'") }
                chars.removeFirst(); text.append("}")
            } else {
                text.append(c)
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    static func isSupported(_ spec: String) -> Bool {
        if spec.isEmpty { return true }
        guard let last = spec.last, "dfe".contains(last) else { return false }
        let body = spec.dropLast()
        if last == "d" { return body.allSatisfy(\.isNumber) }
        return body.isEmpty || (body.first == "." && body.count > 1 && body.dropFirst().allSatisfy(\.isNumber))
    }

    func format(_ values: [String: Double]) throws -> String {
        try pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .field(let name, let spec):
                guard let v = values[name] else {
                    throw FoveaError("filepath placeholder {\(name)} has no value; available: \(values.keys.sorted().joined(separator: ", "))")
                }
                if spec.isEmpty { return v == v.rounded() && abs(v) < 1e15 ? String(v.checkedInt() ?? 0) : "\(v)" }
                let body = spec.dropLast()
                switch spec.last! {
                case "d":
                    let width = Int(body) ?? 0
                    // A NaN or infinite loss (a diverged run) is written as such, not converted.
                    let digits = v.checkedInt().map(String.init) ?? "\(v)"
                    let pad = body.hasPrefix("0") ? "0" : " "
                    return String(repeating: pad, count: Swift.max(0, width - digits.count)) + digits
                default:
                    let precision = Int(body.dropFirst()) ?? 6
                    return String(format: "%.\(precision)\(spec.last!)", v)
                }
            }
        }.joined()
    }
}
