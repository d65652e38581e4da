import Crypto
import Foundation

/// What a stage's cache key is made of; the key is the SHA-256 of its canonical text. Kept
/// whole in the markers so a dry run can say *what* changed ("settings changed: lr").
struct StageFingerprint: Codable, Equatable, Sendable {
    var kind: String
    var version: String
    /// Setting key -> canonical value (output folders symbolic).
    var settings: [String: String]
    /// Input name -> content hash for files the recipe names, or the symbolic path of a stage output.
    var inputs: [String: String]
    /// Stage it depends on -> that stage's key.
    var dependencies: [String: String]

    var key: String {
        var text = "bcsft-recipe-stage 1\nkind \(ValueTemplate.quoted(kind))\nversion \(ValueTemplate.quoted(version))\n"
        // Keys are quoted so that no key or value can run into the next line's.
        for k in settings.keys.sorted() { text += "setting \(ValueTemplate.quoted(k)) \(settings[k]!)\n" }
        for k in inputs.keys.sorted() { text += "input \(ValueTemplate.quoted(k)) \(ValueTemplate.quoted(inputs[k]!))\n" }
        for k in dependencies.keys.sorted() { text += "after \(ValueTemplate.quoted(k)) \(dependencies[k]!)\n" }
        return ContentHasher.hex(SHA256.hash(data: Data(text.utf8)))
    }

    /// Why a stage whose last completed output was made from `old` must run again.
    func changes(since old: StageFingerprint) -> [String] {
        func diff(_ a: [String: String], _ b: [String: String]) -> [String] {
            Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        }
        var out: [String] = []
        if kind != old.kind { out.append("kind changed: \(old.kind) -> \(kind)") }
        if version != old.version { out.append("\(kind) version changed: \(old.version) -> \(version)") }
        let s = diff(settings, old.settings), i = diff(inputs, old.inputs), d = diff(dependencies, old.dependencies)
        if !s.isEmpty { out.append("settings changed: " + s.joined(separator: ", ")) }
        if !i.isEmpty { out.append("inputs changed: " + i.joined(separator: ", ")) }
        if !d.isEmpty { out.append("upstream changed: " + d.joined(separator: ", ")) }
        return out
    }
}

/// The file that says a stage's output folder is complete (`.bcsft-stage.json` in it), or,
/// in a scratch folder, which key an attempt was made for (`.bcsft-attempt.json`).
struct StageMarker: Codable, Sendable {
    static let completeName = ".bcsft-stage.json"
    static let attemptName = ".bcsft-attempt.json"

    var stage: String
    var key: String
    var fingerprint: StageFingerprint
    var started: Date
    var finished: Date?
    var durationSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case stage, key, fingerprint, started, finished
        case durationSeconds = "duration_s"
    }

    static func read(_ url: URL) -> StageMarker? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONCoding.decoder.decode(StageMarker.self, from: data)
    }

    func write(_ url: URL) throws {
        try JSONCoding.write(self, to: url)
    }
}

/// One JSON style for the files the runner writes: ISO 8601 dates, sorted keys. (No key
/// strategy: it would rewrite the keys of settings dictionaries too.)
enum JSONCoding {
    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        do { try encoder.encode(value).write(to: url, options: .atomic) } catch {
            throw RecipeError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
