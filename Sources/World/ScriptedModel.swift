import Common
import Foundation
import Settings
import Teachers

/// The SCRIPTED teacher and strategist of the offline world: a LanguageModel that is not a
/// model. It reads the shipped prompts (data/prompts), parses the world's questions, and
/// writes what a reasoning model would: solutions that re-derive every step (vanilla),
/// solutions that cite the behaviors given in context (BCI), reflections, behavior lists,
/// critiques and revisions. Every draw is seeded by the prompt, the sampling settings and the
/// world seed, so a rerun gives the same text; budgets truncate like a real server's.
///
/// Its error model, stated here because results depend on it: each re-derived step slips
/// (an arithmetic error that propagates) with probability `derivedErrorRate`; a step applied by
/// citing a behavior slips with `citedErrorRate`. A revision keeps an attempt its critique
/// found correct and redoes one it found wrong.
public struct ScriptedModel: LanguageModel {
    public var name: String
    public var seed: UInt64
    public var derivedErrorRate: Double
    public var citedErrorRate: Double

    public init(name: String = "scripted-teacher", seed: UInt64 = 0, derivedErrorRate: Double = 0.08, citedErrorRate: Double = 0.02) {
        self.name = name
        self.seed = seed
        self.derivedErrorRate = derivedErrorRate
        self.citedErrorRate = citedErrorRate
    }

    /// What a prompt asks for, told by the wording of the shipped templates.
    public enum Task: String, Sendable { case solution, bci, reflection, behaviors, critique, revise }

    public static func task(of prompt: String) -> Task {
        if prompt.contains("behaviors worth keeping") || prompt.contains("one JSON object") { return .behaviors }
        if prompt.contains("Reflect on the solution") { return .reflection }
        if prompt.contains("Critique the solution") { return .critique }
        if prompt.contains("improved solution") { return .revise }
        if prompt.contains("behaviors may help") { return .bci }
        return .solution
    }

    public func complete(_ messages: [Message], _ sampling: Sampling) async throws -> Completion {
        let prompt = messages.last { $0.role == "user" }?.content ?? ""
        let draw = sampling.temperature > 0 ? "t\(sampling.temperature)/p\(sampling.topP)/s\(sampling.seed ?? 0)" : "greedy"
        var choices: [Choice] = []
        var completionTokens = 0
        for i in 0..<max(1, sampling.n) {
            var g = SplitMix64(String(seed), prompt, draw, String(sampling.temperature > 0 ? i : 0))
            var text = respond(to: prompt, &g)
            for stop in sampling.stop where !stop.isEmpty {
                if let r = text.range(of: stop) { text = String(text[..<r.lowerBound]) }
            }
            let (cut, truncated) = ScriptedTokens.truncate(text, to: sampling.maxTokens)
            completionTokens += ScriptedTokens.count(cut)
            choices.append(Choice(content: cut, reasoning: nil, finishReason: truncated ? "length" : "stop"))
        }
        let promptTokens = messages.reduce(0) { $0 + ScriptedTokens.count($1.content) }
        return Completion(choices: choices, usage: Usage(promptTokens: promptTokens, completionTokens: completionTokens), model: name)
    }

    func respond(to prompt: String, _ g: inout SplitMix64) -> String {
        let problem = Self.section("Problem", in: prompt) ?? prompt
        switch Self.task(of: prompt) {
        case .solution:
            return solve(problem, behaviors: [:], &g)
        case .bci:
            return solve(problem, behaviors: Self.behaviorsInContext(prompt), &g)
        case .reflection:
            return reflect(on: Self.section("Solution", in: prompt) ?? "")
        case .behaviors:
            return extractBehaviors(from: Self.section("Solution", in: prompt) ?? "", &g)
        case .critique:
            return critique(Self.section("Attempt", in: prompt) ?? "")
        case .revise:
            // Two calls: the critique is in the prompt. One pass: the reply critiques first.
            let attempt = Self.section("Attempt", in: prompt) ?? ""
            let given = Self.section("Critique", in: prompt)
            let critique = given ?? self.critique(attempt)
            let revised = critique.contains("is correct") ? attempt : solve(problem, behaviors: [:], &g)
            return given == nil ? critique + "\n\n" + revised : revised
        }
    }

    // MARK: solving

    func solve(_ problem: String, behaviors: [Procedure: String], _ g: inout SplitMix64) -> String {
        guard let q = World.parse(problem) else {
            return "This problem is outside the scripted world, so I cannot solve it."
        }
        var results: [Int] = []
        var lines: [String] = behaviors.isEmpty ? ["Let me work through this step by step."] : []
        for step in q.family.plan {
            let x = q.family.value(step.x, q.values, results), y = q.family.value(step.y, q.values, results)
            let cited = behaviors[step.procedure]
            var r = step.procedure.apply(x, y)
            if g.unit() < (cited == nil ? derivedErrorRate : citedErrorRate) {
                let slips = [-2, -1, 1, 2, 10].filter { r + $0 >= 0 }
                r += slips.isEmpty ? 1 : slips[Int(g.next() % UInt64(slips.count))]
            }
            lines.append(cited.map { step.procedure.cited(x, y, r, unit: q.family.unit, as: $0) }
                         ?? step.procedure.vanilla(x, y, r, unit: q.family.unit))
            results.append(r)
        }
        lines.append("The answer is \\boxed{\(results.last!)}.")
        return lines.joined(separator: " ")
    }

    /// The behaviors listed in a BCI prompt that the scripted teacher knows how to apply,
    /// recognised by name or by instruction, under the name the prompt gave them.
    static func behaviorsInContext(_ prompt: String) -> [Procedure: String] {
        let head = prompt.components(separatedBy: "Problem:").first ?? ""
        var found: [Procedure: String] = [:]
        for line in head.split(separator: "\n") {
            guard line.hasPrefix("behavior_"), let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let instruction = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let p = Procedure.allCases.first(where: { name.hasPrefix($0.behaviorName) || $0.instruction == instruction }) {
                found[p] = found[p] ?? name
            }
        }
        return found
    }

    // MARK: the strategist

    /// The procedures a solution used: re-derived (found by their wording) or cited by name.
    static func procedures(in solution: String) -> [Procedure] {
        Procedure.allCases.filter { solution.contains($0.signature) || solution.contains("By \($0.behaviorName)") }
    }

    func reflect(on solution: String) -> String {
        var out = "(a) Correctness: "
        if let e = ArithmeticCheck.firstError(in: solution) {
            out += "the step \(e.equation) is wrong\(e.right.map { "; it should give \($0)" } ?? ""), so the final answer is off."
        } else {
            out += "every arithmetic step checks out."
        }
        let used = Self.procedures(in: solution)
        out += "\n(b) Missing behaviors: the solution re-derives "
        out += used.isEmpty ? "nothing reusable." : used.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") }.joined(separator: ", ") + " from scratch."
        out += "\n(c) New behavior suggestions:\n" + used.map { "\($0.behaviorName): \($0.instruction)" }.joined(separator: "\n")
        return out
    }

    /// A behavior list in one of the formats real strategists produce (plain JSON, a fenced
    /// block with a trailing comma, or `name: instruction` lines), now and then with a
    /// reworded name or a vague extra behavior, as real extraction has.
    func extractBehaviors(from solution: String, _ g: inout SplitMix64) -> String {
        var pairs = Self.procedures(in: solution).map { p in
            (g.unit() < 0.15 ? p.behaviorName + "_rule" : p.behaviorName, p.instruction)
        }
        if g.unit() < 0.1 { pairs.append(("behavior_check_each_step", "Recompute every arithmetic step before giving the final answer.")) }
        guard !pairs.isEmpty else { return "I found no reusable behavior in this solution." }
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        let style = g.unit()
        if style < 0.6 {
            return "{" + pairs.map { "\(quoted($0.0)): \(quoted($0.1))" }.joined(separator: ", ") + "}"
        } else if style < 0.85 {
            return "Here are the behaviors:\n```json\n{\n" + pairs.map { "  \(quoted($0.0)): \(quoted($0.1)),\n" }.joined() + "}\n```"
        }
        return pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
    }

    func critique(_ attempt: String) -> String {
        let n = ArithmeticCheck.equations(in: attempt).count
        if let e = ArithmeticCheck.firstError(in: attempt) {
            return "I checked \(n) computations. The step \(e.equation) is wrong\(e.right.map { "; it should be \($0)" } ?? ""). The final answer is incorrect."
        }
        return n == 0 ? "The attempt shows no computation to check. The final answer is incorrect."
                      : "I checked \(n) computations and each is right. The final answer is correct."
    }

    // MARK: prompt sections

    /// The text after `Label:` up to the next section label or the end of the prompt.
    static func section(_ label: String, in prompt: String) -> String? {
        guard let start = prompt.range(of: "\(label):", options: .backwards) else { return nil }
        var rest = prompt[start.upperBound...]
        for next in ["\n\nProblem:", "\n\nSolution:", "\n\nAttempt:", "\n\nCritique:", "\n\nReflection:"] {
            if let r = rest.range(of: next) { rest = rest[..<r.lowerBound] }
        }
        return rest.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
