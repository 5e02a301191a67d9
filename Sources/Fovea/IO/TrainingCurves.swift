import Foundation

/// A training history as ``CSVLogger`` (or Keras's `CSVLogger`) writes it: per epoch, each log
/// value, `nil` where the file says `NA` or nothing.
public struct TrainingLog: Sendable, Equatable {
    /// The epochs, 0-based as the file numbers them, in increasing order.
    public var epochs: [Int]
    /// Each column (`loss`, `val_accuracy`, …) with one value per epoch.
    public var columns: [String: [Float?]]

    public init(epochs: [Int], columns: [String: [Float?]]) { self.epochs = epochs; self.columns = columns }

    /// Reads a CSV log; errors name the file and the line.
    public init(contentsOf url: URL, separator: Character = ",") throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FoveaError("cannot read training log \(url.path): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw FoveaError("\(url.path): not UTF-8 text") }
        try self.init(csv: text, file: url.path, separator: separator)
    }

    /// Parses CSV text (CRLF or LF lines, `"`-quoted fields). A repeated epoch (a resumed run that
    /// logged it again) keeps its last row.
    public init(csv text: String, file: String = "<text>", separator: Character = ",") throws {
        let lines = Self.lines(text)
        guard let headerLine = lines.first else { throw FoveaError("\(file): empty training log, no header") }
        let header = try Self.fields(headerLine, separator: separator, file: file, line: 1)
        guard header.first == "epoch", header.count >= 2 else {
            throw FoveaError("\(file): line 1 must be a header starting with 'epoch' and naming at least one value, got \(header.joined(separator: String(separator)))")
        }
        let names = Array(header.dropFirst())
        guard Set(names).count == names.count else { throw FoveaError("\(file): the header names a column twice") }
        var rows: [Int: [Float?]] = [:]
        for (index, line) in lines.enumerated().dropFirst() {
            let fields = try Self.fields(line, separator: separator, file: file, line: index + 1)
            guard fields.count == header.count else {
                throw FoveaError("\(file): line \(index + 1) has \(fields.count) fields but the header has \(header.count)")
            }
            guard let epoch = Int(fields[0]), epoch >= 0 else { throw FoveaError("\(file): line \(index + 1): epoch '\(fields[0])' is not a whole number") }
            rows[epoch] = try fields.dropFirst().enumerated().map { column, field in
                if field == "NA" || field.isEmpty || (field.utf8.count == 3 && field.lowercased() == "nan") { return nil }
                guard let value = Double(field) else {
                    throw FoveaError("\(file): line \(index + 1): \(names[column]) '\(field)' is not a number")
                }
                return Float(value)
            }
        }
        epochs = rows.keys.sorted()
        var columns: [String: [Float?]] = [:]
        for (i, name) in names.enumerated() { columns[name] = epochs.map { rows[$0]![i] } }
        self.columns = columns
    }

    /// The non-empty lines of `text` (LF or CRLF ends), found on its UTF-8 bytes: splitting a long
    /// log by `Character` costs grapheme breaking on every byte.
    static func lines(_ text: String) -> [Substring] {
        let bytes = text.utf8
        var lines: [Substring] = []
        var start = bytes.startIndex, i = bytes.startIndex
        func close(_ end: String.Index) {
            var end = end
            if end > start, bytes[bytes.index(before: end)] == 0x0D { end = bytes.index(before: end) }
            if end > start { lines.append(text[start..<end]) }
        }
        while i != bytes.endIndex {
            if bytes[i] == 0x0A { close(i); start = bytes.index(after: i) }
            i = bytes.index(after: i)
        }
        close(bytes.endIndex)
        return lines
    }

    static func fields(_ line: Substring, separator: Character, file: String, line number: Int) throws -> [String] {
        // The common line, no quotes and an ASCII separator: split its bytes.
        if let sep = separator.asciiValue, !line.utf8.contains(0x22) {
            return line.utf8.split(separator: sep, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
        var fields: [String] = [], current = "", quoted = false, wasQuoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    var lookahead = chars
                    if lookahead.next() == "\"" { current.append("\""); chars = lookahead } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" && current.isEmpty && !wasQuoted {
                quoted = true; wasQuoted = true
            } else if c == separator {
                fields.append(current); current = ""; wasQuoted = false
            } else { current.append(c) }
        }
        guard !quoted else { throw FoveaError("\(file): line \(number) has an unclosed quote") }
        fields.append(current)
        return fields
    }
}

/// Loss and metric curves per epoch, training and validation, one panel per quantity (loss first),
/// with axes, tick labels and a legend; as SVG or a PNG-ready raster image.
public struct TrainingCurves {
    public let log: TrainingLog
    public static let trainingColor = Drawing.Color(31, 119, 180)
    public static let validationColor = Drawing.Color(255, 127, 14)

    public init(log: TrainingLog) throws {
        guard !log.epochs.isEmpty else { throw FoveaError("the training log has no epochs to plot") }
        self.log = log
        guard !quantities.isEmpty else { throw FoveaError("the training log has no values to plot (columns: \(log.columns.keys.sorted()))") }
    }

    /// The plotted quantities: each column without its `val_` prefix that has a value, loss first.
    public var quantities: [String] {
        let bases = Set(log.columns.keys.map { $0.hasPrefix("val_") ? String($0.dropFirst(4)) : $0 })
        let plotted = bases.filter { base in [base, "val_" + base].contains { log.columns[$0]?.contains { $0 != nil } ?? false } }
        return plotted.sorted { a, b in a == "loss" ? b != "loss" : (b == "loss" ? false : a < b) }
    }

    /// The chart.
    public var drawing: Drawing {
        let panelWidth = 420.0, panelHeight = 320.0
        var d = Drawing(width: panelWidth * Double(quantities.count), height: panelHeight)
        for (i, quantity) in quantities.enumerated() {
            drawPanel(&d, quantity, left: Double(i) * panelWidth, width: panelWidth, height: panelHeight)
        }
        return d
    }

    /// The chart as an SVG document.
    public var svg: String { drawing.svg }

    /// The chart rasterised (2 pixels per point by default).
    public func image(scale: Double = 2) -> Image { drawing.image(scale: scale) }

    /// Writes the chart to `url`: SVG for a `.svg` name, PNG for `.png` (atomically).
    public func write(to url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "svg": try writeAtomically(Data(svg.utf8), to: url)
        case "png":
            // One 840×640-pixel panel per quantity: a log of thousands of columns would need gigabytes.
            let pixels = Double(quantities.count) * 420 * 320 * 4
            guard pixels <= Double(Self.maxRasterPixels) else {
                throw FoveaError("\(url.path): \(quantities.count) quantities make a \(Int(pixels))-pixel PNG, more than \(Self.maxRasterPixels); write an .svg instead")
            }
            try image().writePNG(to: url)
        default: throw FoveaError("\(url.path): cannot tell the image format; name the file .svg or .png")
        }
    }

    func drawPanel(_ d: inout Drawing, _ quantity: String, left: Double, width: Double, height: Double) {
        let gray = Drawing.Color(200, 200, 200), axis = Drawing.Color(60, 60, 60), tickSize = 10.0
        let series: [(label: String, values: [Float?], color: Drawing.Color, dash: Double?)] = [
            ("training", log.columns[quantity] ?? [], Self.trainingColor, nil),
            ("validation", log.columns["val_" + quantity] ?? [], Self.validationColor, 6),
        ].filter { $0.1.contains { $0 != nil } }
        // Shown 1-based; in Double, so the last representable epoch (2⁶³ − 1) does not overflow.
        let epochs = log.epochs.map { Double($0) + 1 }
        let values = series.flatMap { $0.values.compactMap { $0 }.map(Double.init) }.filter(\.isFinite)
        var (low, high) = (values.min() ?? 0, values.max() ?? 1)
        if high - low < 1e-9 { (low, high) = (low - Swift.max(0.5, Swift.abs(low) * 0.1), high + Swift.max(0.5, Swift.abs(high) * 0.1)) }
        let yTicks = Self.niceTicks(low, high, count: 5)
        let yMin = Swift.min(low, yTicks.first!), yMax = Swift.max(high, yTicks.last!)
        let xTicks = Self.integerTicks(epochs.first!, epochs.last!, maxCount: 10)
        // One epoch gets a unit either side (at least one step of the Double, so a huge epoch still spans).
        let pad = Swift.max(1, epochs.first!.ulp)
        let xMin = epochs.count > 1 ? epochs.first! : epochs.first! - pad, xMax = epochs.count > 1 ? epochs.last! : epochs.first! + pad
        let yLabels = yTicks.map { Self.label($0, step: yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1) }
        let labelWidth = yLabels.map { Drawing.textWidth($0, size: tickSize) }.max() ?? 0
        let plotLeft = left + 18 + labelWidth, plotRight = left + width - 16, plotTop = 60.0, plotBottom = height - 46
        func px(_ x: Double) -> Double { plotLeft + (x - xMin) / (xMax - xMin) * (plotRight - plotLeft) }
        func py(_ y: Double) -> Double { plotBottom - (y - yMin) / (yMax - yMin) * (plotBottom - plotTop) }

        d.add(.text(quantity == "loss" ? "Loss" : quantity.prefix(1).uppercased() + quantity.dropFirst(), x: (plotLeft + plotRight) / 2, y: 24,
                    size: 15, anchor: .middle, color: .black))
        for (tick, text) in zip(yTicks, yLabels) {
            d.line(plotLeft, py(tick), plotRight, py(tick), color: gray, width: 0.5)
            d.line(plotLeft - 4, py(tick), plotLeft, py(tick), color: axis)
            d.add(.text(text, x: plotLeft - 7, y: py(tick) + 3.5, size: tickSize, anchor: .end, color: axis))
        }
        for tick in xTicks {
            d.line(px(tick), plotBottom, px(tick), plotBottom + 4, color: axis)
            d.add(.text(tick.checkedInt().map(String.init) ?? String(format: "%.0f", tick), x: px(tick), y: plotBottom + 17, size: tickSize, anchor: .middle, color: axis))
        }
        d.add(.text("epoch", x: (plotLeft + plotRight) / 2, y: plotBottom + 36, size: tickSize, anchor: .middle, color: axis))
        d.line(plotLeft, plotTop, plotLeft, plotBottom, color: axis)
        d.line(plotLeft, plotBottom, plotRight, plotBottom, color: axis)

        for s in series {
            // A missing value breaks the line; each point also gets a dot, so one-epoch runs show. A long
            // log (more points than dots can show apart) gets no dots, and each run keeps per pixel
            // column only its first, lowest, highest and last points: the same picture, drawn in time
            // proportional to the plot's width, not to the number of epochs.
            let dots = s.values.count <= Self.maxDotted
            var run: [(x: Double, y: Double)] = []
            func flush() {
                if run.count > 1 { d.add(.polyline(Self.envelope(run), color: s.color, width: 2, dash: s.dash)) }
                run = []
            }
            for (epoch, value) in zip(epochs, s.values) {
                guard let value, value.isFinite else { flush(); continue }
                run.append((px(epoch), py(Double(value))))
                if dots { d.add(.dot(x: px(epoch), y: py(Double(value)), radius: 2.5, color: s.color)) }
            }
            flush()
        }
        // The legend is a row under the title, so it never hides a curve.
        let entryWidths = series.map { 30 + Drawing.textWidth($0.label, size: tickSize) }
        var x = (plotLeft + plotRight) / 2 - (entryWidths.reduce(0, +) + 16 * Double(series.count - 1)) / 2
        for (s, entryWidth) in zip(series, entryWidths) {
            d.add(.polyline([(x, 43), (x + 24, 43)], color: s.color, width: 2, dash: s.dash.map { _ in 4 }))
            d.add(.text(s.label, x: x + 30, y: 46.5, size: tickSize, anchor: .start, color: axis))
            x += entryWidth + 16
        }
    }

    /// The largest PNG ``write(to:)`` rasterises (about 64 panels).
    public static let maxRasterPixels = 40_000_000

    /// The most points a series draws a dot for.
    static let maxDotted = 200

    /// `points` (x increasing) reduced to the first, lowest, highest and last point of each whole
    /// x (pixel column), in order; unchanged when already that short.
    static func envelope(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        guard points.count > 4 else { return points }
        var out: [(x: Double, y: Double)] = []
        var i = 0
        while i < points.count {
            let column = points[i].x.rounded(.down)
            var j = i, low = i, high = i
            while j < points.count, points[j].x.rounded(.down) == column {
                if points[j].y < points[low].y { low = j }
                if points[j].y > points[high].y { high = j }
                j += 1
            }
            for k in Set([i, low, high, j - 1]).sorted() { out.append(points[k]) }
            i = j
        }
        return out
    }

    /// About `count` round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering low...high.
    static func niceTicks(_ low: Double, _ high: Double, count: Int) -> [Double] {
        let raw = (high - low) / Double(Swift.max(1, count - 1))
        let magnitude = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (low / step).rounded(.down) * step, last = (high / step).rounded(.up) * step
        return stride(from: first, through: last + step / 2, by: step).map { ($0 / step).rounded() * step }
    }

    /// Whole-number ticks from `low` to `high`: the multiples of a round step, at most `maxCount`.
    /// Computed in Double: epochs near 2⁶³ are valid in a log and must not overflow.
    static func integerTicks(_ low: Double, _ high: Double, maxCount: Int) -> [Double] {
        guard low.isFinite, high.isFinite, high >= low else { return [] }
        let span = Swift.max(1, (high - low).rounded(.down))
        let limit = Double(Swift.max(1, maxCount))
        var candidates: [Double] = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500]
        var magnitude = 1000.0
        while magnitude <= 1e300 { candidates += [magnitude, 2 * magnitude, 5 * magnitude]; magnitude *= 10 }
        let step = candidates.first { (span / $0).rounded(.down) < limit } ?? span
        let first = (low / step).rounded(.up) * step
        var ticks: [Double] = []
        var k = 0.0
        while ticks.count < maxCount {
            let tick = first + k * step
            // Past 2⁵³ a small step can vanish in rounding: no tick twice.
            guard tick <= high, tick != ticks.last else { break }
            ticks.append(tick); k += 1
        }
        return ticks
    }

    /// A tick label with as many decimals as the step needs (`0.25` steps get two).
    static func label(_ value: Double, step: Double) -> String {
        var decimals = (-Foundation.log10(step)).clampedInt(0...6, rounding: .up)
        let scaled = step * Foundation.pow(10, Double(decimals))
        if Swift.abs(scaled - scaled.rounded()) > 1e-6 { decimals += 1 }
        let text = String(format: "%.\(Swift.min(6, decimals))f", value)
        return Double(text) == 0 && text.hasPrefix("-") ? String(text.dropFirst()) : text
    }
}
