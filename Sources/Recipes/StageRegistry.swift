/// The stage kinds a program offers to recipes, by name.
public struct StageRegistry: Sendable {
    public private(set) var kinds: [String: any StageKind] = [:]

    public init(_ kinds: [any StageKind] = []) {
        for k in kinds { register(k) }
    }

    /// Adds a kind; a later kind of the same name replaces the earlier one.
    public mutating func register(_ kind: any StageKind) {
        kinds[kind.name] = kind
    }

    public func registering(_ kind: any StageKind) -> StageRegistry {
        var r = self
        r.register(kind)
        return r
    }

    public subscript(name: String) -> (any StageKind)? { kinds[name] }
    public var names: [String] { kinds.keys.sorted() }
}
