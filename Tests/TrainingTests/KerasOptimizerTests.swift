import Foundation
import XCTest
import Fovea

/// Optimizer steps, schedules, losses and metrics checked against Keras 3's own numbers
/// (scripts/make_keras_fixtures.py; never run in CI).
final class KerasOptimizerTests: XCTestCase {
    static func json(_ name: String) throws -> [String: Any] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map(\.floatValue) }

    /// Fovea's optimizer for a Keras optimizer config.
    static func optimizer(_ kind: String, _ c: [String: Any]) throws -> Optimizer {
        func num(_ k: String) -> Float { (c[k] as! NSNumber).floatValue }
        let schedule: LearningRateSchedule
        if let lr = c["learning_rate"] as? NSNumber {
            schedule = .constant(lr.floatValue)
        } else {
            let s = (c["learning_rate"] as! [String: Any])["config"] as! [String: Any]
            schedule = .exponentialDecay(initial: (s["initial_learning_rate"] as! NSNumber).floatValue,
                                         decaySteps: (s["decay_steps"] as! NSNumber).intValue,
                                         decayRate: (s["decay_rate"] as! NSNumber).floatValue,
                                         staircase: s["staircase"] as! Bool)
        }
        switch kind {
        case "SGD": return SGD(schedule: schedule, momentum: num("momentum"), nesterov: c["nesterov"] as! Bool)
        case "RMSprop": return RMSprop(schedule: schedule, rho: num("rho"), momentum: num("momentum"), epsilon: num("epsilon"), centered: c["centered"] as! Bool)
        case "Adam": return Adam(schedule: schedule, beta1: num("beta_1"), beta2: num("beta_2"), epsilon: num("epsilon"), amsgrad: c["amsgrad"] as! Bool)
        default: throw FoveaError("no optimizer \(kind)")
        }
    }

    func testOptimizerStepsMatchKeras() throws {
        let cases = try Self.json("keras_optimizers.json")["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 10)
        for c in cases {
            let name = c["name"] as! String
            let shape = (c["shape"] as! [NSNumber]).map(\.intValue)
            let optimizer = try Self.optimizer(c["optimizer"] as! String, c["config"] as! [String: Any])
            let variable = Variable(Tensor(shape: shape, scalars: Self.floats(c["initial"])), name: "w")
            for (step, (g, expected)) in zip(c["gradients"] as! [Any], c["after_step"] as! [Any]).enumerated() {
                optimizer.apply(gradients: [Tensor(shape: shape, scalars: Self.floats(g))], to: [variable])
                let worst = zip(variable.value.scalars, Self.floats(expected)).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 2e-6, "\(name) step \(step + 1): largest difference from Keras \(worst)")
            }
        }
    }

    func testSchedulesMatchKeras() throws {
        for c in try Self.json("keras_schedules.json")["cases"] as! [[String: Any]] {
            let config = c["config"] as! [String: Any]
            func num(_ k: String) -> Float { (config[k] as! NSNumber).floatValue }
            let schedule: LearningRateSchedule = c["name"] as! String == "piecewise"
                ? .piecewiseConstant(boundaries: (config["boundaries"] as! [NSNumber]).map(\.intValue), values: Self.floats(config["values"]))
                : .exponentialDecay(initial: num("initial_learning_rate"), decaySteps: Int(num("decay_steps")),
                                    decayRate: num("decay_rate"), staircase: config["staircase"] as! Bool)
            for (step, expected) in zip(c["steps"] as! [NSNumber], Self.floats(c["values"])) {
                XCTAssertEqual(schedule(step.intValue), expected, accuracy: 1e-6, "\(c["name"]!) at step \(step)")
            }
        }
    }

    func testLossesValuesAndGradientsMatchKeras() throws {
        let fixture = try Self.json("keras_losses.json")
        let losses: [String: Loss] = [
            "categorical_crossentropy": .categoricalCrossentropy(), "categorical_crossentropy_clipped": .categoricalCrossentropy(),
            "categorical_crossentropy_from_logits": .categoricalCrossentropy(fromLogits: true),
            "sparse_categorical_crossentropy": .sparseCategoricalCrossentropy(),
            "sparse_categorical_crossentropy_from_logits": .sparseCategoricalCrossentropy(fromLogits: true),
            "mean_squared_error": .meanSquaredError, "binary_crossentropy": .binaryCrossentropy(),
            "binary_crossentropy_from_logits": .binaryCrossentropy(fromLogits: true),
        ]
        let cases = fixture["losses"] as! [[String: Any]]
        XCTAssertEqual(cases.count, losses.count)
        for c in cases {
            let name = c["name"] as! String
            let loss = try XCTUnwrap(losses[name], name)
            let target = Tensor(shape: (c["y_true_shape"] as! [NSNumber]).map(\.intValue), scalars: Self.floats(c["y_true"]))
            let prediction = Tensor(shape: (c["y_pred_shape"] as! [NSNumber]).map(\.intValue), scalars: Self.floats(c["y_pred"]))
            let perSample = loss.perSample(target: target, prediction: prediction)
            for (a, b) in zip(perSample.scalars, Self.floats(c["per_sample"])) { XCTAssertEqual(a, b, accuracy: 2e-5, name) }
            let (value, gradient) = valueWithGradient(at: prediction) { loss(target: target, prediction: $0) }
            XCTAssertEqual(value.scalar, (c["mean"] as! NSNumber).floatValue, accuracy: 2e-5, name)
            if let expected = c["grad_mean_wrt_y_pred"] as? [NSNumber] {
                for (a, b) in zip(gradient.scalars, expected.map(\.floatValue)) { XCTAssertEqual(a, b, accuracy: 2e-4, "\(name) gradient") }
            }
        }
    }

    func testFusedSoftmaxCrossEntropyMatchesKerasFromLogits() throws {
        let c = (try Self.json("keras_losses.json")["losses"] as! [[String: Any]]).first { $0["name"] as! String == "sparse_categorical_crossentropy_from_logits" }!
        let logits = Tensor(shape: [3, 4], scalars: Self.floats(c["y_pred"]))
        let labels = Self.floats(c["y_true"]).map { Int($0) }
        let (value, gradient) = valueWithGradient(at: logits) { Tensor.softmaxCrossEntropy(logits: $0, labels: labels) }
        XCTAssertEqual(value.scalar, (c["mean"] as! NSNumber).floatValue, accuracy: 2e-5)
        for (a, b) in zip(gradient.scalars, Self.floats(c["grad_mean_wrt_y_pred"])) { XCTAssertEqual(a, b, accuracy: 2e-5) }
    }

    func testAccuracyMetricsMatchKeras() throws {
        let kinds: [String: (Metric, Loss)] = [
            "categorical_accuracy": (.categoricalAccuracy, .categoricalCrossentropy()),
            "sparse_categorical_accuracy": (.sparseCategoricalAccuracy, .sparseCategoricalCrossentropy()),
            "binary_accuracy": (.binaryAccuracy, .binaryCrossentropy()),
        ]
        for c in try Self.json("keras_losses.json")["metrics"] as! [[String: Any]] {
            let (metric, loss) = kinds[c["name"] as! String]!
            let target = Tensor(shape: (c["y_true_shape"] as! [NSNumber]).map(\.intValue), scalars: Self.floats(c["y_true"]))
            let prediction = Tensor(shape: (c["y_pred_shape"] as! [NSNumber]).map(\.intValue), scalars: Self.floats(c["y_pred"]))
            XCTAssertEqual(metric.value(target: target, prediction: prediction, loss: loss), (c["value"] as! NSNumber).floatValue,
                           accuracy: 1e-6, c["name"] as! String)
            // `.accuracy` resolves to the same metric from the loss, as in Keras.
            XCTAssertEqual(Metric.accuracy.value(target: target, prediction: prediction, loss: loss), (c["value"] as! NSNumber).floatValue,
                           accuracy: 1e-6)
        }
    }
}
