import Foundation

/// Inline SVG charts for the HTML report: plain markup, no scripts, no external resources,
/// so the page renders anywhere (also offline and in a headless screenshot).
enum SVGChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    static let width = 720.0, height = 360.0
    static let margin = (left: 64.0, right: 150.0, top: 28.0, bottom: 48.0)

    struct Series {
        var label: String
        var color: String
        var points: [(x: Double, y: Double, note: String)]
        var dashed = false
        /// False: markers only (points that are not a sequence, e.g. one per seed).
        var line = true
    }

    /// Lines with point markers; `note` becomes each marker's hover title.
    static func lines(title: String, xLabel: String, yLabel: String, series: [Series], yRange: (Double, Double)? = nil) -> String {
        let all = series.flatMap(\.points)
        guard !all.isEmpty else { return "" }
        let xs = Axis(values: all.map(\.x)), ys = yRange.map { Axis(values: [$0.0, $0.1], exact: true) } ?? Axis(values: all.map(\.y))
        var svg = open(title: title)
        svg += frame(x: xs, y: ys, xLabel: xLabel, yLabel: yLabel)
        for (i, s) in series.enumerated() {
            let coords = s.points.map { "\(fmt(px(xs, $0.x))),\(fmt(py(ys, $0.y)))" }.joined(separator: " ")
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if s.line { svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(dash) points=\"\(coords)\"/>\n" }
            for p in s.points {
                svg += "<circle cx=\"\(fmt(px(xs, p.x)))\" cy=\"\(fmt(py(ys, p.y)))\" r=\"3.5\" fill=\"\(s.color)\"><title>\(escape(s.label)): \(escape(p.note))</title></circle>\n"
            }
            svg += legend(index: i, label: s.label, color: s.color, dashed: s.dashed, line: s.line)
        }
        return svg + "</svg>\n"
    }

    /// Grouped vertical bars: one group per category, one bar per series (values in 0...100).
    static func bars(title: String, yLabel: String, categories: [String], series: [(label: String, color: String, values: [Double?])]) -> String {
        guard !categories.isEmpty, !series.isEmpty else { return "" }
        let ys = Axis(values: [0, 100], exact: true)
        var svg = open(title: title)
        svg += frame(x: nil, y: ys, xLabel: "", yLabel: yLabel)
        let plotWidth = width - margin.left - margin.right
        let groupWidth = plotWidth / Double(categories.count)
        let barWidth = groupWidth * 0.8 / Double(series.count)
        for (c, category) in categories.enumerated() {
            let x0 = margin.left + Double(c) * groupWidth + groupWidth * 0.1
            for (s, entry) in series.enumerated() {
                guard let v = entry.values[c] else { continue }
                let top = py(ys, v), bottom = py(ys, 0)
                svg += "<rect x=\"\(fmt(x0 + Double(s) * barWidth))\" y=\"\(fmt(top))\" width=\"\(fmt(barWidth * 0.92))\" height=\"\(fmt(bottom - top))\" fill=\"\(entry.color)\"><title>\(escape(entry.label)), \(escape(category)): \(String(format: "%.1f", v))%</title></rect>\n"
            }
            let label = category.count > 14 ? String(category.prefix(13)) + "…" : category
            svg += "<text x=\"\(fmt(x0 + groupWidth * 0.4))\" y=\"\(fmt(height - margin.bottom + 16))\" font-size=\"10\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        for (s, entry) in series.enumerated() { svg += legend(index: s, label: entry.label, color: entry.color, dashed: false) }
        return svg + "</svg>\n"
    }

    // MARK: pieces

    /// An axis range widened to round tick values.
    struct Axis {
        var low: Double
        var high: Double
        var step: Double

        init(values: [Double], exact: Bool = false) {
            var lo = values.min()!, hi = values.max()!
            if lo == hi { lo -= 1; hi += 1 }
            let raw = (hi - lo) / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            self.step = step
            low = exact ? lo : floor(lo / step) * step
            high = exact ? hi : ceil(hi / step) * step
        }

        var ticks: [Double] {
            var t: [Double] = [], v = (low / step).rounded(.up) * step
            while v <= high + step * 1e-9 { t.append(v); v += step }
            return t
        }
    }

    static func px(_ a: Axis, _ x: Double) -> Double {
        margin.left + (x - a.low) / (a.high - a.low) * (width - margin.left - margin.right)
    }

    static func py(_ a: Axis, _ y: Double) -> Double {
        height - margin.bottom - (y - a.low) / (a.high - a.low) * (height - margin.top - margin.bottom)
    }

    static func open(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" role=\"img\" aria-label=\"\(escape(title))\">\n"
            + "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
            + "<text x=\"\(fmt(width / 2))\" y=\"18\" font-size=\"14\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(title))</text>\n"
    }

    static func frame(x: Axis?, y: Axis, xLabel: String, yLabel: String) -> String {
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        var s = "<g stroke=\"#999\" stroke-width=\"1\">"
        s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(bottom))\" x2=\"\(fmt(right))\" y2=\"\(fmt(bottom))\"/>"
        s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(top))\" x2=\"\(fmt(left))\" y2=\"\(fmt(bottom))\"/></g>\n"
        for t in y.ticks {
            let yy = py(y, t)
            s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(yy))\" x2=\"\(fmt(right))\" y2=\"\(fmt(yy))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(yy + 4))\" font-size=\"11\" text-anchor=\"end\">\(tick(t))</text>\n"
        }
        if let x {
            for t in x.ticks {
                let xx = px(x, t)
                s += "<text x=\"\(fmt(xx))\" y=\"\(fmt(bottom + 16))\" font-size=\"11\" text-anchor=\"middle\">\(tick(t))</text>\n"
            }
        }
        s += "<text x=\"\(fmt((left + right) / 2))\" y=\"\(fmt(height - 8))\" font-size=\"12\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(fmt((top + bottom) / 2))) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        return s
    }

    static func legend(index: Int, label: String, color: String, dashed: Bool, line: Bool = true) -> String {
        let x = width - margin.right + 14, y = margin.top + 14 + Double(index) * 20
        let dash = dashed ? " stroke-dasharray=\"6 4\"" : ""
        let name = label.count > 18 ? String(label.prefix(17)) + "…" : label
        if !line {
            return "<circle cx=\"\(fmt(x + 11))\" cy=\"\(fmt(y))\" r=\"3.5\" fill=\"\(color)\"/>"
                + "<text x=\"\(fmt(x + 28))\" y=\"\(fmt(y + 4))\" font-size=\"11\">\(escape(name))</text>\n"
        }
        return "<line x1=\"\(fmt(x))\" y1=\"\(fmt(y))\" x2=\"\(fmt(x + 22))\" y2=\"\(fmt(y))\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>"
            + "<text x=\"\(fmt(x + 28))\" y=\"\(fmt(y + 4))\" font-size=\"11\">\(escape(name))</text>\n"
    }

    static func tick(_ v: Double) -> String {
        if abs(v) >= 10000 { return String(format: "%.0fk", v / 1000) }
        return v == v.rounded() ? String(format: "%.0f", v) : String(format: "%g", v)
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
