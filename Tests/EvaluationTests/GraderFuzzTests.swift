import Common
import Evaluation
import Foundation
import XCTest

/// The grader is total on any text: adversarial answers (deep nesting, \frac chains, huge
/// exponents, megabytes of digits, invalid UTF-8) give a verdict within a couple of seconds,
/// never a trap. Swift traps on integer overflow, so numbers read from the input must never
/// reach unchecked arithmetic.
final class GraderFuzzTests: XCTestCase {
    let grader = Grader()

    func nested(_ depth: Int, _ open: String, _ close: String) -> String {
        String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
    }

    var adversarial: [String] {
        var fracChain = "1", wideFrac = "1"
        for _ in 0..<500 { fracChain = #"\frac{"# + fracChain + "}{2}" }
        for _ in 0..<12 { wideFrac = #"\frac{"# + wideFrac + "}{" + wideFrac + "}" }
        let brackets = [("(", ")"), ("[", "]"), ("{", "}"), (#"\{"#, #"\}"#), (#"\left("#, #"\right)"#), ("|", "|"), (#"\lfloor "#, #"\rfloor "#)]
        return brackets.map { nested(20_000, $0.0, $0.1) } + brackets.map { nested(300, $0.0, $0.1) } + [
            fracChain, wideFrac, String(repeating: #"\frac"#, count: 5_000) + "12", String(repeating: #"\sqrt{"#, count: 5_000),
            "10^{99999999}", "10^{-99999999}", "9^{9^{9^9}}", Array(repeating: #"2^{8000}\cdot3^{5000}"#, count: 20).joined(separator: "+"),
            Array(repeating: #"\frac{3^{10000}}{2^{16000}+1}"#, count: 20).joined(separator: "-"), "2^{16384}", "2^{-16384}", "(2^{8192})^{2}", "2^{2^{2^{2^{2^{2}}}}}", "0^{-1}", "(-8)^{1/3}", "1e999999999999999999999",
            "1e-9223372036854775808", "1e9223372036854775807", "9223372036854775808", "-9223372036854775808", #"\sqrt[10^{400}]{-8}"#,
            #"\sqrt[1e30]{-8}"#, #"\sqrt[-9223372036854775807]{2}"#, #"\binom{9223372036854775807}{4611686018427387903}"#, "21!", "(10^{400})!",
            #"\lfloor 10^{400} \rfloor"#, #"\frac{1}{0}"#, #"\log_{1}{1}"#, "99999999999999999999.\\overline{9}", #"0.\overline{99999999999999999999}"#,
            String(repeating: "9", count: 1_000_000), String(repeating: "1,", count: 50_000), String(repeating: "x", count: 5_000),
            String(repeating: "\\", count: 5_001), String(repeating: "$", count: 5_000), String(repeating: "{,}", count: 3_000) + "1",
            String(repeating: #"\text{"#, count: 2_000) + "a" + String(repeating: "}", count: 2_000),
            "<think>" + String(repeating: "\\boxed{", count: 10_000), String(repeating: "\\boxed{1}", count: 10_000),
            // runs just under GraderLimits.answerBytes on which a normalisation rule was quadratic
            String(repeating: "1", count: 9_990), "1" + String(repeating: " ", count: 9_980) + "1", String(repeating: "cm ", count: 3_300),
            String(repeating: #"\,"#, count: 4_990), String(repeating: "1 or ", count: 1_990),
            String(decoding: [0xFF, 0xFE, 0x28, 0xC3, 0x28, 0xE2, 0x82, 0x5C, 0x62, 0x6F, 0x78, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80], as: UTF8.self),
        ]
    }

    func testAdversarialAnswersGetAVerdictQuickly() {
        for text in adversarial {
            let label = String(text.prefix(40)) + " (\(text.utf8.count) bytes)"
            for (pred, gold) in [(#"\boxed{"# + text + "}", "1"), (text, text + "1"), ("1", text)] {
                let start = threadCPUSeconds()
                let v = grader.grade(pred: pred, gold: gold)
                XCTAssertLessThan(threadCPUSeconds() - start, 2, label)
                XCTAssertFalse(v.reason.isEmpty, label)
            }
        }
    }

    func testRepeatingDecimalsTooLongForExactArithmeticAreNotMisread() {
        // the whole part used to read as 0 when it did not fit 64 bits
        XCTAssertFalse(grader.grade(pred: #"12345678901234567890123.\overline{3}"#, gold: #"\frac{1}{3}"#).correct)
        XCTAssertFalse(grader.grade(pred: #"99999999999999999999.\overline{9}"#, gold: "1").correct)
        XCTAssertTrue(grader.grade(pred: #"2.\overline{3}"#, gold: #"\frac{7}{3}"#).correct)
    }

    func testBytesAreGradedAsLossyUTF8() {
        let invalid: [UInt8] = [0x5C, 0x62, 0x6F, 0x78, 0x65, 0x64, 0x7B, 0x35, 0xFF, 0x7D]  // \boxed{5<invalid>}
        let v = grader.grade(predBytes: invalid, goldBytes: Array("5\u{FFFD}".utf8))
        XCTAssertTrue(v.correct, v.reason)
        XCTAssertFalse(grader.grade(predBytes: [0xC0, 0x80], goldBytes: [0xED, 0xA0, 0x80]).reason.isEmpty)
    }

    /// Random strings from TeX fragments, numbers and stray bytes, seeded: none may trap.
    /// BCSFT_FUZZ_ITERATIONS=N runs N of them instead of 1,000, with a seed of BCSFT_FUZZ_SEED.
    func testRandomFragmentsNeverTrap() {
        let env = ProcessInfo.processInfo.environment
        let iterations = env["BCSFT_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 1_000
        let fragments = [#"\frac"#, #"\sqrt"#, "[", "]", "{", "}", "(", ")", "|", "^", "_", "-", "+", "*", "/", "!", ",", "=", ".", "e", "i", "x",
                         #"\pi"#, #"\infty"#, #"\pm"#, #"\cup"#, #"\{"#, #"\}"#, #"\left("#, #"\right)"#, #"\lfloor"#, #"\rfloor"#, #"\binom"#,
                         #"\log_"#, #"\sin"#, #"\overline"#, #"\text"#, #"\boxed"#, "\\", "&", "%", "$", " ", "0", "1", "9", "99999999999999999999",
                         "9223372036854775807", "1e-9223372036854775808", "1e400", "10^{400}", "2^{1024}", "\u{FFFD}", "°", "√", "\n"]
        var rng = SplitMix64(seed: env["BCSFT_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x6675_7A7A)
        for _ in 0..<iterations {
            let length = Int.random(in: 1...40, using: &rng)
            let text = (0..<length).map { _ in fragments.randomElement(using: &rng)! }.joined()
            let other = (0..<Int.random(in: 1...10, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined()
            XCTAssertFalse(grader.grade(pred: #"\boxed{"# + text + "}", gold: other).reason.isEmpty, text)
            XCTAssertFalse(grader.grade(pred: text, gold: text).reason.isEmpty, text)
        }
    }
}

/// CPU time of the calling thread: a time limit in a test should not fail because other jobs
/// share the machine.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
