import Foundation

/// Where progress goes: a write function and whether it is an interactive terminal.
public struct ProgressOutput: @unchecked Sendable {
    public let write: (String) -> Void
    public let isTerminal: Bool
    public init(isTerminal: Bool, write: @escaping (String) -> Void) {
        self.isTerminal = isTerminal
        self.write = write
    }
    /// Standard output; a terminal when stdout is a TTY.
    public static var standardOutput: ProgressOutput {
        ProgressOutput(isTerminal: isatty(STDOUT_FILENO) == 1) { s in
            fputs(s, stdout)
            fflush(stdout)
        }
    }
}

/// Keras's progress bar: `938/938 ━━━━━━━━━━━━━━━━━━━━ 21s 22ms/step - accuracy: 0.9398 - loss: 0.1894`,
/// redrawn in place on a terminal (with the ETA while running); one line per epoch otherwise.
/// Verbose 2 prints Keras's compact line `938/938 - 21s - 22ms/step - …` at the end of each epoch.
public struct Progbar {
    public let target: Int
    public let verbose: Int
    let output: ProgressOutput
    let width = 20
    let start: Double
    var firstStepDone: Double?
    var lastDraw: Double = 0
    var previousWidth = 0

    public init(target: Int, verbose: Int, output: ProgressOutput, now: Double = Progbar.now()) {
        self.target = target; self.verbose = verbose; self.output = output; start = now
    }

    public static func now() -> Double { Date().timeIntervalSinceReferenceDate }

    /// Keras's step-time format: ` 22ms/step`, ` 2s/step`, ` 850us/step`.
    public static func formatStepTime(_ seconds: Double) -> String {
        if seconds >= 1 || seconds == 0 { return String(format: " %.0fs/step", seconds) }
        if seconds >= 1e-3 { return String(format: " %.0fms/step", seconds * 1000) }
        return String(format: " %.0fus/step", seconds * 1_000_000)
    }

    /// Keras's value format: 4 decimals, or scientific below 1e-3.
    public static func formatValue(_ v: Float) -> String {
        Swift.abs(v) > 1e-3 ? String(format: "%.4f", v) : String(format: "%.4e", v)
    }

    static func formatLogs(_ logs: Logs) -> String {
        logs.keys.sorted().map { " - \($0): \(formatValue(logs[$0]!))" }.joined()
    }

    /// Time per step, leaving out the (unrepresentative) first step once there are more.
    func stepTime(_ current: Int, _ now: Double) -> Double {
        guard current > 0 else { return 0 }
        if let first = firstStepDone, current > 1 { return (now - first) / Double(current - 1) }
        return (now - start) / Double(current)
    }

    /// The line for `current` of `target` steps (no trailing newline, no terminal codes).
    public func line(current: Int, logs: Logs, finished: Bool, now: Double) -> String {
        let digits = String(target).count
        let count = String(repeating: " ", count: Swift.max(0, digits - String(current).count)) + "\(current)/\(target)"
        let perStep = stepTime(current, now)
        if verbose == 2 {
            return "\(count) - \(String(format: "%.0f", now - start))s -\(Progbar.formatStepTime(perStep).dropFirst(0))" + Progbar.formatLogs(logs)
        }
        let done = target > 0 ? (Double(width) * Double(current) / Double(target)).clampedInt(0...width) : 0
        let time: String
        if finished {
            time = String(format: "%.0fs", now - start)
        } else {
            // Whole seconds, clamped (a clock that jumps must not make a NaN or huge estimate trap).
            let eta = (perStep * Double(target - current)).clampedInt(0...(1 << 40))
            if eta > 3600 { time = String(format: "%d:%02d:%02d", eta / 3600, (eta % 3600) / 60, eta % 60) }
            else if eta > 60 { time = String(format: "%d:%02d", eta / 60, eta % 60) }
            else { time = "\(eta)s" }
        }
        let bar = output.isTerminal
            ? "\u{1B}[1m\(count)\u{1B}[0m " + (done > 0 ? "\u{1B}[32m" + String(repeating: "━", count: done) + "\u{1B}[0m" : "")
              + "\u{1B}[37m" + String(repeating: "━", count: width - done) + "\u{1B}[0m"
            : "\(count) " + String(repeating: "━", count: width)
        return bar + " " + time + Progbar.formatStepTime(perStep) + Progbar.formatLogs(logs)
    }

    /// Reports that `current` steps are done; draws when due.
    public mutating func update(_ current: Int, logs: Logs, finished: Bool = false, now: Double = Progbar.now()) {
        if current == 1 && firstStepDone == nil { firstStepDone = now }
        guard verbose > 0 else { return }
        if verbose == 2 || !output.isTerminal {
            if finished { output.write(line(current: current, logs: logs, finished: true, now: now) + "\n") }
            return
        }
        guard finished || now - lastDraw >= 0.05 else { return }
        lastDraw = now
        let text = line(current: current, logs: logs, finished: finished, now: now)
        let visible = text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression).count
        let padding = String(repeating: " ", count: Swift.max(0, previousWidth - visible))
        previousWidth = visible
        output.write("\r" + text + padding + (finished ? "\n" : ""))
    }
}
