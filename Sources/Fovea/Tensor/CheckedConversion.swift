import Foundation

/// Checked conversions from floating point to integers, for every place a value becomes a count,
/// an index, a pixel, a bar or an axis position. Swift's `Int(_: Double)` traps on NaN, on ±infinity
/// and outside `Int`'s range; a model file without a checksum (or with a forged one) may hold NaN
/// weights, so such values reach these conversions from well-formed files, and must never trap.
extension BinaryFloatingPoint {
    /// The value rounded by `rule` as an `Int`, or nil when it is NaN, infinite or outside `Int`'s range.
    @inlinable
    public func checkedInt(rounding rule: FloatingPointRoundingRule = .towardZero) -> Int? {
        let r = Double(self).rounded(rule)
        // -2⁶³ is exact in Double; 2⁶³ (the first value past Int.max) is too.
        guard r.isFinite, r >= -9_223_372_036_854_775_808.0, r < 9_223_372_036_854_775_808.0 else { return nil }
        return Int(r)
    }

    /// The value rounded by `rule` and clamped to `range`; NaN gives `nan` (default: the range's lower
    /// bound), -infinity the lower bound and +infinity the upper bound.
    @inlinable
    public func clampedInt(_ range: ClosedRange<Int>, rounding rule: FloatingPointRoundingRule = .towardZero,
                           nan: Int? = nil) -> Int {
        if isNaN { return nan ?? range.lowerBound }
        let r = Double(self).rounded(rule)
        if r <= Double(range.lowerBound) { return range.lowerBound }
        if r >= Double(range.upperBound) { return range.upperBound }
        return Int(r)
    }
}

/// A bar of `width` cells for `fraction` of 0...1, as the CLI's probability bars draw it: NaN,
/// negative values and values past 1 are clamped (NaN draws nothing).
public func textBar(_ fraction: Float, width: Int, cell: String = "█") -> String {
    String(repeating: cell, count: (fraction * Float(width)).clampedInt(0...Swift.max(0, width), rounding: .toNearestOrAwayFromZero))
}
