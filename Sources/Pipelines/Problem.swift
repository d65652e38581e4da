import Common
import Foundation

/// One problem of a problems file: the benchmark format (`id`, `problem`, `answer`, optional
/// `subject` and `level`; MATH-500, AIME, GSM8K and the offline world all use it).
public struct Problem: Codable, Sendable, Equatable {
    public var id: String
    public var problem: String
    public var answer: String?
    public var subject: String?
    public var level: String?

    public init(id: String, problem: String, answer: String? = nil, subject: String? = nil, level: String? = nil) {
        self.id = id
        self.problem = problem
        self.answer = answer
        self.subject = subject
        self.level = level
    }

    enum CodingKeys: String, CodingKey { case id, problem, answer, subject, level }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try Self.text(c, .id) ?? { throw PipelineError.field("id", "missing") }()
        problem = try c.decode(String.self, forKey: .problem)
        answer = try Self.text(c, .answer)
        subject = try Self.text(c, .subject)
        level = try Self.text(c, .level)
    }

    /// Strings or numbers (MATH's level is an integer, GSM8K answers are often numbers).
    private static func text(_ c: KeyedDecodingContainer<CodingKeys>, _ k: CodingKeys) throws -> String? {
        if let s = try? c.decodeIfPresent(String.self, forKey: k) { return s }
        if let i = try? c.decodeIfPresent(Int.self, forKey: k) { return String(i) }
        if let d = try c.decodeIfPresent(Double.self, forKey: k) { return String(d) }
        return nil
    }

    /// Reads a problems file; a bad line or a repeated id is an error naming file and line.
    public static func load(_ url: URL, limit: Int? = nil) throws -> [Problem] {
        guard FileManager.default.fileExists(atPath: url.path) else { throw PipelineError.missingFile(url.path) }
        try FileCheck.readable(url)
        var out: [Problem] = []
        var seen: [String: Int] = [:]
        var it = JSONLReader(url: url).makeIterator()
        while let (line, data) = it.next() {
            if let problem = JSONStructure.problem(in: data) {
                throw PipelineError.badLine(file: url.path, line: line, reason: problem.description)
            }
            let p: Problem
            do { p = try JSONDecoder().decode(Problem.self, from: data) } catch {
                throw PipelineError.badLine(file: url.path, line: line, reason: PipelineError.describe(error))
            }
            if let first = seen[p.id] { throw PipelineError.badLine(file: url.path, line: line, reason: "id '\(p.id)' already used on line \(first)") }
            seen[p.id] = line
            out.append(p)
            if let limit, out.count >= limit { break }
        }
        if let e = it.error { throw e as? FileError ?? PipelineError.missingFile("\(url.path): \(e.localizedDescription)") }
        return out
    }
}
