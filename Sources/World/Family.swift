import Common
import Foundation

/// Where a step takes an operand from: a number in the question, or an earlier step's result.
public enum Operand: Sendable, Equatable {
    case given(String)
    case step(Int)
}

/// One step of a family's solution plan.
public struct PlanStep: Sendable {
    public let procedure: Procedure
    public let x: Operand
    public let y: Operand
}

/// A family of procedural word problems: question templates with `{placeholders}`, a sampler
/// for the numbers, and the plan of sub-procedures that solves every member.
public struct Family: Sendable {
    public let name: String
    public let subject: String
    /// Unit words the steps print ("m", "cm", "km").
    public let unit: String
    public let templates: [String]
    public let plan: [PlanStep]
    /// Draws the numbers, or nil to redraw (a constraint failed).
    let sample: @Sendable (inout SplitMix64) -> [String: Int]?

    /// Solves the plan exactly for `values`; the last result is the answer.
    public func solve(_ values: [String: Int]) -> [Int] {
        var results: [Int] = []
        for s in plan { results.append(s.procedure.apply(value(s.x, values, results), value(s.y, values, results))) }
        return results
    }

    func value(_ o: Operand, _ values: [String: Int], _ results: [Int]) -> Int {
        switch o {
        case let .given(k): values[k] ?? 0
        case let .step(i): results[i]
        }
    }
}

private func r(_ g: inout SplitMix64, _ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &g) }

extension Family {
    /// The families of the offline world. Numbers are sized so that every step is a small
    /// table fact (factors up to 6, sums under 30, differences from the next ten, exact
    /// quotients up to 9): a first try with factors to 9 and two-digit sums left a 1M-parameter
    /// student at 5% after 600 steps, all of it lost on carries. What varies, and what the
    /// behaviors are about, is which sub-procedures a problem chains.
    public static let all: [Family] = [
        Family(name: "fence_share", subject: "geometry", unit: "m", templates: [
            "{name} puts a fence around a rectangle garden {a} m long and {b} m wide and splits the work equally among {k} friends. How many meters of fence does each friend put up?",
            "A rectangle field is {a} m long and {b} m wide. The border around it is cut into {k} equal pieces. How many meters long is each piece?",
        ], plan: [PlanStep(procedure: .rectanglePerimeter, x: .given("a"), y: .given("b")),
                  PlanStep(procedure: .shareEqually, x: .step(0), y: .given("k"))],
        sample: { g in
            let a = r(&g, 1...5), b = r(&g, 1...4), k = r(&g, 2...6)
            let perimeter = 2 * (a + b)
            return perimeter % k == 0 && perimeter / k <= 9 && k != a && k != b ? ["a": a, "b": b, "k": k] : nil
        }),

        Family(name: "tile_share", subject: "geometry", unit: "m", templates: [
            "A rectangle floor is {a} m long and {b} m wide and is covered with square tiles of one square meter. {k} workers lay the tiles, each the same number. How many tiles does each worker lay?",
            "{name} has a rectangle patio {a} m long and {b} m wide to cover with square tiles of one square meter, and splits the tiles equally into {k} boxes. How many tiles go in each box?",
        ], plan: [PlanStep(procedure: .rectangleArea, x: .given("a"), y: .given("b")),
                  PlanStep(procedure: .shareEqually, x: .step(0), y: .given("k"))],
        sample: { g in
            let a = r(&g, 2...6), b = r(&g, 2...6), k = r(&g, 2...6)
            return (a * b) % k == 0 && a * b / k <= 9 && k != a && k != b ? ["a": a, "b": b, "k": k] : nil
        }),

        Family(name: "shopping_change", subject: "money", unit: "", templates: [
            "{name} buys {n} pens at {p} dollars each and pays with a {m} dollar bill. How many dollars of change does {name} get?",
            "{name} pays for {n} books costing {p} dollars each with a {m} dollar bill. How much change in dollars comes back?",
        ], plan: [PlanStep(procedure: .totalCost, x: .given("n"), y: .given("p")),
                  PlanStep(procedure: .change, x: .given("m"), y: .step(0))],
        sample: { g in
            let n = r(&g, 2...6), p = r(&g, 2...4)
            return ["n": n, "p": p, "m": (n * p / 10 + 1) * 10]
        }),

        Family(name: "trip_total", subject: "motion", unit: "km", templates: [
            "{name} rides at {v} km per hour for {t} hours, then walks at {w} km per hour for {s} hours. How many km does {name} travel in all?",
            "A boat sails at {v} km per hour for {t} hours and then at {w} km per hour for {s} hours. What distance in km does it cover in total?",
        ], plan: [PlanStep(procedure: .distance, x: .given("v"), y: .given("t")),
                  PlanStep(procedure: .distance, x: .given("w"), y: .given("s")),
                  PlanStep(procedure: .combine, x: .step(0), y: .step(1))],
        sample: { g in ["v": r(&g, 2...6), "t": r(&g, 1...3), "w": r(&g, 2...4), "s": r(&g, 1...2)] }),

        Family(name: "garden_cost", subject: "geometry", unit: "m", templates: [
            "{name} covers a rectangle garden {a} m long and {b} m wide with grass that costs {p} dollars per square meter. How many dollars does the grass cost?",
            "A rectangle room is {a} m long and {b} m wide. Carpet costs {p} dollars per square meter. What does carpet for the whole room cost in dollars?",
        ], plan: [PlanStep(procedure: .rectangleArea, x: .given("a"), y: .given("b")),
                  PlanStep(procedure: .totalCost, x: .step(0), y: .given("p"))],
        sample: { g in ["a": r(&g, 1...3), "b": r(&g, 2...3), "p": r(&g, 2...6)] }),

        Family(name: "trip_share", subject: "motion", unit: "km", templates: [
            "{name} cycles at {v} km per hour for {t} hours and splits the distance equally into {k} stages. How many km long is each stage?",
            "A train runs at {v} km per hour for {t} hours. The route is cut into {k} equal parts. How many km long is each part?",
        ], plan: [PlanStep(procedure: .distance, x: .given("v"), y: .given("t")),
                  PlanStep(procedure: .shareEqually, x: .step(0), y: .given("k"))],
        sample: { g in
            let v = r(&g, 2...6), t = r(&g, 2...6), k = r(&g, 2...6)
            return (v * t) % k == 0 && v * t / k <= 9 && k != v && k != t ? ["v": v, "t": t, "k": k] : nil
        }),

        Family(name: "card_total", subject: "geometry", unit: "cm", templates: [
            "A rectangle card is {a} cm long and {b} cm wide. What is its perimeter plus its area?",
            "{name} draws a rectangle {a} cm long and {b} cm wide. What is the sum of its perimeter and its area?",
        ], plan: [PlanStep(procedure: .rectanglePerimeter, x: .given("a"), y: .given("b")),
                  PlanStep(procedure: .rectangleArea, x: .given("a"), y: .given("b")),
                  PlanStep(procedure: .combine, x: .step(0), y: .step(1))],
        sample: { g in ["a": r(&g, 1...3), "b": r(&g, 1...3)] }),

        Family(name: "shopping_two", subject: "money", unit: "", templates: [
            "{name} buys {n} apples at {p} dollars each and {k} pears at {q} dollars each. How many dollars does {name} spend?",
            "A shop sells {n} hats at {p} dollars each and {k} caps at {q} dollars each. How many dollars does it take in?",
        ], plan: [PlanStep(procedure: .totalCost, x: .given("n"), y: .given("p")),
                  PlanStep(procedure: .totalCost, x: .given("k"), y: .given("q")),
                  PlanStep(procedure: .combine, x: .step(0), y: .step(1))],
        sample: { g in ["n": r(&g, 2...4), "p": r(&g, 2...4), "k": r(&g, 2...3), "q": r(&g, 2...3)] }),

        Family(name: "carpet_change", subject: "money", unit: "m", templates: [
            "{name} buys carpet for a rectangle room {a} m long and {b} m wide at {p} dollars per square meter and pays with a {m} dollar bill. How many dollars of change does {name} get?",
        ], plan: [PlanStep(procedure: .rectangleArea, x: .given("a"), y: .given("b")),
                  PlanStep(procedure: .totalCost, x: .step(0), y: .given("p")),
                  PlanStep(procedure: .change, x: .given("m"), y: .step(1))],
        sample: { g in
            let a = r(&g, 1...3), b = r(&g, 1...2), p = r(&g, 2...3)
            return ["a": a, "b": b, "p": p, "m": (a * b * p / 10 + 1) * 10]
        }),
    ]

    static let names = ["Ana", "Ben", "Carla", "Dev", "Emma", "Femi", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lena", "Mira", "Noor", "Omar", "Pia"]
}
