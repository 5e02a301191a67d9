import Foundation

extension Model {
    /// Runs `input` through the model one layer call at a time (inference: dropout off, no gradients
    /// kept, nothing fused) and returns every call's output in the order they run; the last is the
    /// model's output. A layer called twice appears twice; the Input is not listed.
    public func layerOutputs(_ input: Tensor) throws -> [(layer: Layer, output: Tensor)] {
        try prepare(for: input)
        let graph = try builtGraph()
        guard graph.inputs.count == 1 else { throw FoveaError("model \(name) has \(graph.inputs.count) inputs; layerOutputs takes models of one input") }
        return try GradientRecording.withoutGradients {
            var values: [ObjectIdentifier: Tensor] = [ObjectIdentifier(graph.inputs[0]): input]
            var result: [(Layer, Tensor)] = []
            for node in graph.nodes where !node.isInput {
                let outputs = try node.layer.call(node.inputs.map { values[ObjectIdentifier($0)]! }, training: node.training ?? false)
                for (t, y) in zip(node.outputs, outputs) { values[ObjectIdentifier(t)] = y }
                result.append((node.layer, outputs[0]))
            }
            if let last = graph.outputs.last, let y = values[ObjectIdentifier(last)], result.last.map({ $0.1.storage !== y.storage }) ?? true {
                result.append((last.layer, y))
            }
            return result
        }
    }
}

/// What a model's convolution and pooling layers make of one image: a grid of every channel's
/// feature map per layer, and the model's top classes. ``write(to:)`` saves it as PNGs and an
/// `index.html` that shows them in layer order.
public struct FeatureMapReport {
    /// One convolution or pooling layer's output.
    public struct LayerMaps {
        public let name: String
        public let typeName: String
        /// The output's shape for this one image, batch axis included: `(1, 26, 26, 32)`.
        public let outputShape: [Int]
        /// Every channel's map, normalised on its own, in a near-square grid (``Image/featureMapGrid(_:columns:scale:gap:colormap:)``).
        public let grid: Image
        /// How many times each map was enlarged.
        public let scale: Int
    }

    /// The input as the model saw it (enlarged like the maps).
    public let input: Image
    public let layers: [LayerMaps]
    public let predictions: [ClassScore]
    /// Why ``predictions`` is empty, when it is: the model's output holds NaN or infinity.
    public let predictionProblem: String?
    /// How the maps are coloured.
    public let colormap: Colormap

    /// Runs `input` (`[1, height, width, channels]`, already prepared as the model expects, e.g.
    /// by ``Image/modelInput(shape:invert:centerDigit:)``) through `model`. Every layer output that
    /// is an image (rank 4, channels where the layer's ``Layer/channelsFirst`` says) becomes a grid
    /// whose maps are each enlarged by a whole factor to at least `tileSize` pixels (so a 3×3 map is
    /// as visible as a 26×26 one).
    public init(model: Model, input: Tensor, topK: Int = 5, tileSize: Int = 64, colormap: Colormap = .viridis) throws {
        guard input.rank == 4, input.shape[0] == 1 else {
            throw FoveaError("feature maps are drawn for one image: expected input (1, height, width, channels), got \(formatShape(input.shape))")
        }
        let outputs = try model.layerOutputs(input)
        func factor(_ size: Int) -> Int { Swift.max(1, (tileSize + size - 1) / Swift.max(size, 1)) }
        var maps: [LayerMaps] = []
        for (layer, output) in outputs where output.rank == 4 && !(layer is Model) {
            let nhwc = layer.channelsFirst ? output.transposed([0, 2, 3, 1]) : output
            let scale = factor(Swift.max(nhwc.shape[1], nhwc.shape[2]))
            maps.append(LayerMaps(name: layer.name, typeName: layer.typeName, outputShape: output.shape,
                                  grid: try Image.featureMapGrid(nhwc, scale: scale, gap: 2, colormap: colormap), scale: scale))
        }
        let inputShape = input.shape
        if (1...4).contains(inputShape[3]) {
            let values = input.scalars
            let unit = values.allSatisfy { $0 >= 0 && $0 <= 1 }
            let shown = unit ? try Image(input, unitScaled: true) : try Image(displaying: input, scaling: .minMax)
            self.input = shown.upscaled(by: factor(Swift.max(inputShape[1], inputShape[2])))
        } else {
            self.input = try Image(width: 1, height: 1, channels: 1, pixels: [0])
        }
        self.layers = maps
        self.colormap = colormap
        // A model that predicts NaN (NaN or infinite weights) still gets its maps drawn (a NaN map
        // shows as the colormap's start); the report says why it lists no classes.
        var scores: [ClassScore] = [], problem: String?
        do { scores = try topClasses(outputs.last?.output.scalars ?? [], k: topK) } catch let error as FoveaError { problem = error.message }
        self.predictions = scores
        self.predictionProblem = problem
    }

    /// Writes `input.png`, one `NN-<layer name>.png` per layer and `index.html` into `directory`
    /// (created if needed; files of the same names are replaced). Returns the files written.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FoveaError("cannot create the output folder \(directory.path): \(error.localizedDescription)")
        }
        var written: [URL] = []
        let inputURL = directory.appendingPathComponent("input.png")
        try input.writePNG(to: inputURL)
        written.append(inputURL)
        for (index, layer) in layers.enumerated() {
            let url = directory.appendingPathComponent(fileName(index, layer))
            try layer.grid.writePNG(to: url)
            written.append(url)
        }
        let htmlURL = directory.appendingPathComponent("index.html")
        try writeAtomically(Data(html.utf8), to: htmlURL)
        written.append(htmlURL)
        return written
    }

    private func fileName(_ index: Int, _ layer: LayerMaps) -> String {
        let safe = String(layer.name.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
        return String(format: "%02d-", index + 1) + safe + ".png"
    }

    /// The page ``write(to:)`` saves: the input, the predictions, then each layer's grid with its
    /// name, type and output shape, in layer order.
    public var html: String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let legend = colormap == .viridis
            ? "dark purple = its lowest value, yellow = its highest; a constant map, such as a ReLU channel that never fired, is all dark purple"
            : "black = its lowest value, white = its highest; a constant map is all black"
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Feature maps</title>
        <style>
        body { font-family: sans-serif; margin: 2em; color: #222; }
        img { image-rendering: pixelated; border: 1px solid #ccc; }
        table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; }
        section { margin: 2em 0; }
        </style></head><body>
        <h1>Feature maps</h1>
        <section><h2>Input</h2><p>As the model saw it (after any inversion, centring and resizing).</p>
        <img src="input.png" alt="the input image"></section>
        <section><h2>Top predictions</h2><table><tr><th>class</th><th>probability</th></tr>

        """
        for p in predictions {
            page += "<tr><td>\(p.classIndex)</td><td>\(String(format: "%.2f%%", p.probability * 100))</td></tr>\n"
        }
        page += "</table>\(predictionProblem.map { "<p><strong>No prediction:</strong> \(escape($0))</p>" } ?? "")</section>\n"
        for (index, layer) in layers.enumerated() {
            let shape = formatShape(layer.outputShape)
            let channels = layer.outputShape.last ?? 0
            page += """
            <section><h2>\(index + 1). \(escape(layer.name)) (\(escape(layer.typeName)))</h2>
            <p>Output shape \(shape): \(channels) feature maps, each normalised on its own (\(legend)), \
            enlarged \(layer.scale)×.</p>
            <img src="\(escape(fileName(index, layer)))" alt="\(escape(layer.name)) feature maps"></section>

            """
        }
        return page + "</body></html>\n"
    }
}
