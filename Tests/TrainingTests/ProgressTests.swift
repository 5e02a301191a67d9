import Foundation
import XCTest
import Fovea

final class ProgressTests: XCTestCase {
    func testKerasLineFormatWhenNotATerminal() {
        let captured = Captured()
        var bar = Progbar(target: 938, verbose: 1, output: captured.output(terminal: false), now: 100)
        bar.update(1, logs: ["loss": 2], now: 100.5)
        bar.update(500, logs: ["loss": 1], now: 110)
        XCTAssertEqual(captured.text, "", "a non-terminal gets one line per epoch, at its end")
        bar.update(938, logs: ["accuracy": 0.93981, "loss": 0.18944, "val_accuracy": 0.98, "val_loss": 0.0005], finished: true, now: 121)
        XCTAssertEqual(captured.text,
                       "938/938 ━━━━━━━━━━━━━━━━━━━━ 21s 22ms/step - accuracy: 0.9398 - loss: 0.1894 - val_accuracy: 0.9800 - val_loss: 5.0000e-04\n")
    }

    func testVerboseTwoLine() {
        let captured = Captured()
        var bar = Progbar(target: 10, verbose: 2, output: captured.output(terminal: true), now: 0)
        bar.update(1, logs: ["loss": 1], now: 0.2)
        bar.update(10, logs: ["loss": 0.5, "accuracy": 0.75], finished: true, now: 2.0)
        XCTAssertEqual(captured.text, "10/10 - 2s - 200ms/step - accuracy: 0.7500 - loss: 0.5000\n")
    }

    func testTerminalRedrawsInPlaceWithETA() {
        let captured = Captured()
        var bar = Progbar(target: 100, verbose: 1, output: captured.output(terminal: true), now: 0)
        bar.update(1, logs: ["loss": 1], now: 1)
        bar.update(11, logs: ["loss": 0.5], now: 2)
        let plain = captured.text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        XCTAssertTrue(plain.hasPrefix("\r  1/100 ━━━━━━━━━━━━━━━━━━━━"), plain)
        // After the first step, 10 steps took 1 s: 100 ms/step and 89 steps left.
        XCTAssertTrue(plain.hasSuffix("\r 11/100 ━━━━━━━━━━━━━━━━━━━━ 8s 100ms/step - loss: 0.5000"), plain)
        XCTAssertTrue(captured.text.contains("\u{1B}[32m━━\u{1B}[0m"), "two of twenty cells done, in green")
        XCTAssertFalse(captured.text.contains("\n"))
    }

    func testTimeFormats() {
        XCTAssertEqual(Progbar.formatStepTime(2.4), " 2s/step")
        XCTAssertEqual(Progbar.formatStepTime(0.0224), " 22ms/step")
        XCTAssertEqual(Progbar.formatStepTime(0.00085), " 850us/step")
        XCTAssertEqual(Progbar.formatValue(0.18944), "0.1894")
        XCTAssertEqual(Progbar.formatValue(0.0001234), "1.2340e-04")
    }

    func testFitPrintsEpochHeadersAndOneLinePerEpoch() throws {
        let (x, y) = toyData(40, seed: 1)
        let model = try toyModel()
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let captured = Captured()
        try model.fit(x: x, y: y, batchSize: 10, epochs: 2, verbose: 1, validationSplit: 0.25, output: captured.output(terminal: false))
        let lines = captured.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], "Epoch 1/2")
        XCTAssertEqual(lines[2], "Epoch 2/2")
        let pattern = #"^3/3 ━{20} \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}$"#
        for line in [lines[1], lines[3]] { XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), line) }
        let silent = Captured()
        try model.fit(x: x, y: y, batchSize: 10, epochs: 1, verbose: 0, output: silent.output(terminal: false))
        XCTAssertEqual(silent.text, "")
    }
}
