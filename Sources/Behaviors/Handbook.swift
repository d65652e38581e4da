import Common
import Foundation

/// The behavior handbook: a JSONL file of behaviors, deduplicated as they are added.
public struct Handbook: Sendable, Equatable {
    public private(set) var behaviors: [Behavior] = []
    private var index: [String: Int] = [:]          // id -> position
    private var byText: [String: Int] = [:]         // normalised instruction -> position

    public init(_ behaviors: [Behavior] = []) {
        for b in behaviors { add(b) }
    }

    public var count: Int { behaviors.count }

    /// Adds a behavior, or merges it into an existing one with the same id or the same
    /// normalised instruction (sources united, uses summed). Returns true when it was new.
    @discardableResult
    public mutating func add(_ b: Behavior) -> Bool {
        let key = Behavior.normalise(b.instruction)
        if let i = index[b.id] ?? byText[key] {
            merge(b, into: i)
            return false
        }
        index[b.id] = behaviors.count
        byText[key] = behaviors.count
        behaviors.append(b)
        return true
    }

    private mutating func merge(_ b: Behavior, into i: Int) {
        for s in b.sources where !behaviors[i].sources.contains(s) { behaviors[i].sources.append(s) }
        behaviors[i].uses += b.uses
        if behaviors[i].topic == nil { behaviors[i].topic = b.topic }
    }

    /// Merges behaviors whose embeddings have cosine similarity at least `threshold` into the
    /// earlier one (near duplicates worded differently). Returns how many were merged away.
    @discardableResult
    public mutating func mergeNearDuplicates(embeddings: [String: [Float]], threshold: Float) -> Int {
        var kept: [Behavior] = []
        var keptVectors: [[Float]] = []
        var merged = 0
        for b in behaviors {
            guard let v = embeddings[b.id] else { kept.append(b); keptVectors.append([]); continue }
            if let j = keptVectors.indices.first(where: { !keptVectors[$0].isEmpty && cosine(keptVectors[$0], v) >= threshold }) {
                for s in b.sources where !kept[j].sources.contains(s) { kept[j].sources.append(s) }
                kept[j].uses += b.uses
                merged += 1
            } else {
                kept.append(b)
                keptVectors.append(v)
            }
        }
        self = Handbook(kept)
        return merged
    }

    /// Counts a citation of each named behavior.
    public mutating func recordUses(_ names: [String]) {
        for n in names {
            if let i = behaviors.firstIndex(where: { $0.name == n }) { behaviors[i].uses += 1 }
        }
    }

    public func behavior(named name: String) -> Behavior? { behaviors.first { $0.name == name } }

    // MARK: Files

    /// Reads a handbook JSONL file; a bad line is an error naming the file and line.
    public static func load(_ url: URL) throws -> Handbook {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw FileError.cannotRead(path: url.path, reason: error.localizedDescription)
        }
        var h = Handbook()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                var b = try JSONDecoder().decode(Behavior.self, from: Data(trimmed.utf8))
                guard b.name.hasPrefix("behavior_"), !b.instruction.isEmpty else {
                    throw FileError.invalidLine(file: url.path, line: n + 1, reason: "name must start with behavior_ and instruction must not be empty")
                }
                b.id = Behavior.contentID(name: b.name, instruction: b.instruction)
                h.add(b)
            } catch let e as FileError {
                throw e
            } catch {
                throw FileError.invalidLine(file: url.path, line: n + 1, reason: "not a behavior record (\(error))")
            }
        }
        return h
    }

    /// Writes the handbook as JSONL, atomically (temporary file, then rename).
    public func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for b in behaviors {
            out.append(try enc.encode(b))
            out.append(0x0A)
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try out.write(to: url, options: .atomic)
        } catch {
            throw FileError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count, !a.isEmpty else { return 0 }
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        na += a[i] * a[i]
        nb += b[i] * b[i]
    }
    return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
}
