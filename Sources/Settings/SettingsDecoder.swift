import Foundation

/// Decodes a settings type (any `Decodable`) from a `SettingValue` tree: the one way settings
/// are read, whether they came from a recipe, a training configuration or command-line flags.
///
/// What it adds to Swift's decoding: numbers convert where no precision is lost (`512.0` is an
/// integer, `3` a number), any scalar reads as text, an enum names its choices, every error
/// names the setting's dotted key and where it was written, and a key that nothing read is an
/// error (a typo must never fall back to a default without a word).
public struct SettingsDecoder {
    /// Where each key was written, by dotted path (`backend.timeout`, `budgets[1]`); an error
    /// points at the nearest written ancestor of its key, else at `fallback`.
    public var locations: [String: SourceLocation]
    public var fallback: SourceLocation?

    public init(locations: [String: SourceLocation] = [:], fallback: SourceLocation? = nil) {
        self.locations = locations
        self.fallback = fallback
    }

    public func decode<T: Decodable>(_ type: T.Type, from value: SettingValue) throws -> T {
        let state = ReadState()
        do {
            let t = try T(from: ValueDecoder(value: value, path: [], state: state))
            try state.checkEveryKeyRead()
            return t
        } catch let e as SettingsError {
            guard case let .invalid(key, _, nil) = e else { throw e }
            throw e.located(location(of: key))
        } catch let e as DecodingError {
            let (key, reason) = Self.describe(e)
            throw SettingsError.invalid(key: key, reason: reason, at: location(of: key))
        }
    }

    /// The location of a dotted key: its own, or its nearest written ancestor's.
    public func location(of key: String) -> SourceLocation? {
        var k = key
        while true {
            if let at = locations[k] { return at }
            guard let cut = k.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            k = String(k[..<cut])
        }
        return locations[""] ?? fallback
    }

    /// The keys `T` reads at its top level, in the order it reads them: what a recipe stage or a
    /// command accepts for it.
    public static func keys<T: Decodable>(of type: T.Type) -> [String] {
        let state = ReadState()
        _ = try? T(from: ValueDecoder(value: .map([:]), path: [], state: state))
        return state.read[""] ?? []
    }

    /// Swift's own decoding errors (from synthesized code) as a key and a reason.
    static func describe(_ e: DecodingError) -> (String, String) {
        switch e {
        case let .keyNotFound(k, c): return (keyPath(c.codingPath + [k]), "missing")
        case let .typeMismatch(t, c): return (keyPath(c.codingPath), "expected \(t)")
        case let .valueNotFound(_, c): return (keyPath(c.codingPath), "null")
        case let .dataCorrupted(c): return (keyPath(c.codingPath), c.debugDescription)
        @unknown default: return ("-", "\(e)")
        }
    }

    static func keyPath(_ path: [CodingKey]) -> String {
        var s = ""
        for k in path {
            if let i = k.intValue, k.stringValue == String(i) || k.stringValue.hasPrefix("Index") { s += "[\(i)]" } else {
                s += s.isEmpty ? k.stringValue : "." + k.stringValue
            }
        }
        return s
    }
}

/// A value a setting can be: an enumeration whose choices are listed in errors.
public protocol SettingChoice {
    static var choices: [String] { get }
}

extension SettingChoice where Self: CaseIterable & RawRepresentable, RawValue == String {
    public static var choices: [String] { allCases.map(\.rawValue) }
}

/// Which keys of each mapping were present and which the settings type asked for.
private final class ReadState {
    var read: [String: [String]] = [:]
    var present: [String: Set<String>] = [:]
    /// Mappings read as dictionaries (every key is the type's).
    var open: Set<String> = []
    var order: [String] = []

    func asked(_ key: String, in path: String) {
        if read[path]?.contains(key) == true { return }
        read[path, default: []].append(key)
    }

    func opened(_ keys: Set<String>, at path: String) {
        if present[path] == nil { order.append(path) }
        present[path, default: []].formUnion(keys)
    }

    func checkEveryKeyRead() throws {
        for path in order where !open.contains(path) {
            let known = read[path] ?? []
            guard let unread = present[path]?.subtracting(known).sorted().first else { continue }
            throw SettingsError.invalid(key: path.isEmpty ? unread : "\(path).\(unread)",
                                        reason: "unknown key" + (known.isEmpty ? "" : " (known: \(known.sorted().joined(separator: ", ")))"), at: nil)
        }
    }
}

private struct Index: CodingKey {
    let intValue: Int?
    var stringValue: String { String(intValue!) }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct ValueDecoder: Decoder {
    let value: SettingValue
    let path: [CodingKey]
    let state: ReadState
    var codingPath: [CodingKey] { path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var key: String { SettingsDecoder.keyPath(path) }

    func fail(_ reason: String) -> SettingsError { .invalid(key: key.isEmpty ? "-" : key, reason: reason, at: nil) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .map(m) = value else { throw fail("expected a mapping (key: value), got \(value.typeName) (\(value))") }
        state.opened(Set(m.keys), at: key)
        return KeyedDecodingContainer(Keyed<Key>(map: m, decoder: self))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case let .list(xs) = value else { throw fail("expected a list, got \(value.typeName) (\(value))") }
        return Unkeyed(items: xs, decoder: self)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { Single(decoder: self) }

    func child(_ v: SettingValue, _ k: CodingKey) -> ValueDecoder { ValueDecoder(value: v, path: path + [k], state: state) }

    /// The conversions settings allow, with errors that say what was expected.
    func convert<T: Decodable>(_ type: T.Type) throws -> T {
        func mismatch() -> SettingsError { fail("expected \(Self.describe(T.self)), got \(value.typeName) (\(value))") }
        switch T.self {
        case is Bool.Type:
            guard case let .bool(b) = value else { throw mismatch() }
            return b as! T
        case is String.Type:
            guard value != .null, let s = value.scalarText else { throw mismatch() }
            return s as! T
        case is Double.Type, is Float.Type:
            let d: Double
            switch value {
            case let .double(x): d = x
            case let .int(i): d = Double(i)
            default: throw mismatch()
            }
            // No setting means infinity or not-a-number; they would reach a file or a kernel.
            guard d.isFinite else { throw fail("expected a finite number, got \(value)") }
            return (T.self == Float.self ? Float(d) as Any : d as Any) as! T
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt.Type, is UInt32.Type:
            let i: Int
            switch value {
            case let .int(x): i = x
            case let .double(d) where d.rounded() == d && abs(d) < 9e15: i = Int(d)
            default: throw mismatch()
            }
            switch T.self {
            case is Int.Type: return i as! T
            case is Int64.Type: return Int64(i) as! T
            case is Int32.Type:
                guard let v = Int32(exactly: i) else { throw fail("\(i) is out of range") }
                return v as! T
            default:
                guard i >= 0 else { throw fail("must be >= 0, got \(i)") }
                if T.self == UInt32.self {
                    guard let v = UInt32(exactly: i) else { throw fail("\(i) is out of range") }
                    return v as! T
                }
                return (T.self == UInt.self ? UInt(i) as Any : UInt64(i) as Any) as! T
            }
        default:
            if let choice = T.self as? SettingChoice.Type, let text = value.scalarText, value != .null {
                do { return try T(from: self) } catch {
                    throw fail("'\(text)' is not one of \(choice.choices.joined(separator: ", "))")
                }
            }
            return try T(from: self)
        }
    }

    static func describe(_ t: Any.Type) -> String {
        switch t {
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is UInt64.Type, is UInt.Type, is UInt32.Type: return "a non-negative integer"
        case let c as SettingChoice.Type: return "one of \(c.choices.joined(separator: ", "))"
        default:
            let name = "\(t)"
            if name.hasPrefix("Array<") { return "a list" }
            if name.hasPrefix("Dictionary<") { return "a mapping" }
            if name.hasPrefix("Optional<") { return "a value" }
            return "a mapping"
        }
    }
}

private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let map: [String: SettingValue]
    let decoder: ValueDecoder
    var codingPath: [CodingKey] { decoder.path }

    var allKeys: [Key] {
        decoder.state.open.insert(decoder.key)
        return map.keys.compactMap { Key(stringValue: $0) }
    }

    func contains(_ key: Key) -> Bool {
        decoder.state.asked(key.stringValue, in: decoder.key)
        return map[key.stringValue] != nil
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        decoder.state.asked(key.stringValue, in: decoder.key)
        return map[key.stringValue].map { $0 == .null } ?? true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        decoder.state.asked(key.stringValue, in: decoder.key)
        guard let v = map[key.stringValue] else {
            throw decoder.child(.null, key).fail("missing (\(ValueDecoder.describe(T.self)) required)")
        }
        return try decoder.child(v, key).convert(T.self)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(T: type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(T: type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(T: type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(T: type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(T: type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(T: type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(T: type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(T: type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(T: type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(T: type, key) }
    private func decode<T: Decodable>(T type: T.Type, _ key: Key) throws -> T { try decode(type, forKey: key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        decoder.state.asked(key.stringValue, in: decoder.key)
        return try decoder.child(map[key.stringValue] ?? .null, key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        decoder.state.asked(key.stringValue, in: decoder.key)
        return try decoder.child(map[key.stringValue] ?? .null, key).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> Decoder {
        decoder.state.asked(key.stringValue, in: decoder.key)
        return decoder.child(map[key.stringValue] ?? .null, key)
    }
}

private struct Unkeyed: UnkeyedDecodingContainer {
    let items: [SettingValue]
    let decoder: ValueDecoder
    var currentIndex = 0
    var codingPath: [CodingKey] { decoder.path }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [SettingValue], decoder: ValueDecoder) {
        self.items = items
        self.decoder = decoder
    }

    mutating func next() throws -> ValueDecoder {
        guard !isAtEnd else { throw decoder.fail("has too few items") }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], Index(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().convert(T.self) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

private struct Single: SingleValueDecodingContainer {
    let decoder: ValueDecoder
    var codingPath: [CodingKey] { decoder.path }
    func decodeNil() -> Bool { decoder.value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.convert(T.self) }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.convert(type) }
    func decode(_ type: String.Type) throws -> String { try decoder.convert(type) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.convert(type) }
    func decode(_ type: Float.Type) throws -> Float { try decoder.convert(type) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.convert(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.convert(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.convert(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.convert(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.convert(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.convert(type) }
}
