import Foundation

/// The part of a graph of layer calls between a model's inputs and outputs, analysed as Keras's
/// `map_graph` does: which nodes belong to it, their depths, the layers in Keras's order (by depth from
/// the inputs, ties in traversal order), and checks that it is acyclic, connected and uniquely named.
final class Graph {
    let inputs: [SymbolicTensor]
    let outputs: [SymbolicTensor]
    /// The nodes in an order that runs every node after the nodes it reads (Input nodes included).
    let nodes: [Node]
    /// Every layer of the graph (Input layers included), in Keras's order.
    let allLayers: [Layer]
    /// The layers a model lists (a `Sequential` leaves out its Input layer, as Keras does).
    let layers: [Layer]
    /// How to run the graph for inference without gradients (batch norm folded), and otherwise.
    private(set) var inferencePlan: ExecutionPlan!
    private(set) var generalPlan: ExecutionPlan!

    init(inputs: [SymbolicTensor], outputs: [SymbolicTensor], model: String, listsInputLayers: Bool) throws {
        self.inputs = inputs
        self.outputs = outputs
        let inputIDs = Set(inputs.map(ObjectIdentifier.init))
        if inputIDs.count != inputs.count { throw FoveaError("model \(model): the same tensor is given twice as an input") }

        // Depth-first from the outputs: nodes in finishing order (inputs first) and each layer's
        // first traversal index.
        var finished = Set<ObjectIdentifier>(), inProgress = Set<ObjectIdentifier>()
        var order: [Node] = []
        var layerIndex: [ObjectIdentifier: Int] = [:]
        func visit(_ tensor: SymbolicTensor) throws {
            let node = tensor.node, key = ObjectIdentifier(node)
            if finished.contains(key) { return }
            // A declared input made by a layer: the graph starts here; that layer is outside it.
            if !node.isInput && inputIDs.contains(ObjectIdentifier(tensor)) { finished.insert(key); return }
            if inProgress.contains(key) {
                throw FoveaError("model \(model): the graph has a cycle through layer '\(node.layer.name)' (\(node.layer.typeName))")
            }
            if layerIndex[ObjectIdentifier(node.layer)] == nil { layerIndex[ObjectIdentifier(node.layer)] = layerIndex.count }
            inProgress.insert(key)
            for t in node.inputs { try visit(t) }
            inProgress.remove(key)
            finished.insert(key)
            order.append(node)
        }
        for output in outputs { try visit(output) }

        // Depth: 0 at the outputs, a node one deeper than the deepest node reading it; a shared layer
        // sits at the deepest of its calls.
        let inGraph = Set(order.map(ObjectIdentifier.init))
        var nodeDepth: [ObjectIdentifier: Int] = [:], layerDepth: [ObjectIdentifier: Int] = [:]
        var layerOf: [ObjectIdentifier: Layer] = [:]
        for node in order.reversed() {
            let key = ObjectIdentifier(node), layerKey = ObjectIdentifier(node.layer)
            let depth = Swift.max(nodeDepth[key] ?? 0, layerDepth[layerKey] ?? 0)
            layerDepth[layerKey] = depth
            layerOf[layerKey] = node.layer
            nodeDepth[key] = depth
            for parent in node.inputs.map(\.node) where inGraph.contains(ObjectIdentifier(parent)) {
                nodeDepth[ObjectIdentifier(parent)] = Swift.max(depth + 1, nodeDepth[ObjectIdentifier(parent)] ?? 0)
            }
        }
        // Inputs the outputs do not depend on still belong to the model.
        var nodes = order
        for input in inputs where input.node.isInput && layerDepth[ObjectIdentifier(input.layer)] == nil {
            let key = ObjectIdentifier(input.layer)
            layerDepth[key] = 0
            layerIndex[key] = -1
            layerOf[key] = input.layer
            nodeDepth[ObjectIdentifier(input.node)] = 0
            nodes.append(input.node)
        }
        let position = Dictionary(nodes.enumerated().map { (ObjectIdentifier($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
        nodes.sort { a, b in
            let (da, db) = (nodeDepth[ObjectIdentifier(a)]!, nodeDepth[ObjectIdentifier(b)]!)
            return da != db ? da > db : position[ObjectIdentifier(a)]! < position[ObjectIdentifier(b)]!
        }
        self.nodes = nodes
        allLayers = layerOf.values.sorted { a, b in
            let (da, db) = (layerDepth[ObjectIdentifier(a)]!, layerDepth[ObjectIdentifier(b)]!)
            return da != db ? da > db : layerIndex[ObjectIdentifier(a)]! < layerIndex[ObjectIdentifier(b)]!
        }
        layers = listsInputLayers ? allLayers : allLayers.filter { !($0 is Input) }

        // Every tensor a node reads must come from the inputs. (Outputs are held while their
        // identities are in the set: one no node reads is recreated on demand and could die.)
        var computable = inputIDs
        var held: [SymbolicTensor] = []
        for node in nodes where !node.isInput {
            for t in node.inputs where !computable.contains(ObjectIdentifier(t)) {
                throw FoveaError("model \(model): graph disconnected: input \(formatShape(t.shape)) of layer '\(node.layer.name)' (\(node.layer.typeName)) comes from '\(t.layer.name)' (\(t.layer.typeName)), which the model's inputs do not reach; add that Input to the model's inputs")
            }
            for t in node.outputs {
                held.append(t)
                computable.insert(ObjectIdentifier(t))
            }
        }
        withExtendedLifetime(held) {}
        inferencePlan = ExecutionPlan(self, inference: true)
        generalPlan = ExecutionPlan(self, inference: false)
    }

    func plan(inference: Bool) -> ExecutionPlan { inference ? inferencePlan : generalPlan }

    /// Layer names are unique within a model: files and `layer(named:)` refer to layers by name.
    func checkUniqueNames(model: String) throws {
        var seen = Set<String>()
        for layer in allLayers where !seen.insert(layer.name).inserted {
            throw FoveaError("model \(model): the name '\(layer.name)' is used by more than one layer; layer names must be unique")
        }
    }

    /// The nodes of `layer` in this graph, in call order.
    func nodes(of layer: Layer) -> [Node] { nodes.filter { $0.layer === layer } }
}
