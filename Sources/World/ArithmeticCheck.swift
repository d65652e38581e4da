import Foundation

/// Finds the equations `x op y = z` in a text and checks each: what the scripted critic and
/// strategist "verify" when they read a solution.
enum ArithmeticCheck {
    struct Equation { let text: String; let claimed: Int; let actual: Int? }

    private static let regex = try! NSRegularExpression(pattern: "(\\d+) ([+\\-−×÷]) (\\d+) = (\\d+)")

    static func equations(in text: String) -> [Equation] {
        regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { m in
            func group(_ i: Int) -> String { Range(m.range(at: i), in: text).map { String(text[$0]) } ?? "" }
            guard let x = Int(group(1)), let y = Int(group(3)), let z = Int(group(4)) else { return nil }
            let actual: Int? = switch group(2) {
            case "+": x + y
            case "-", "−": x - y
            case "×": x * y
            default: y != 0 && x % y == 0 ? x / y : nil
            }
            return Equation(text: group(0), claimed: z, actual: actual)
        }
    }

    /// The first equation whose claimed result is wrong, with the right one.
    static func firstError(in text: String) -> (equation: String, right: Int?)? {
        equations(in: text).first { $0.actual != $0.claimed }.map { ($0.text, $0.actual) }
    }
}
