/// The stages' dependency graph: a run order and what lies downstream of a stage.
struct DependencyGraph: Sendable {
    /// Stage names in an order where every stage comes after its dependencies; among stages
    /// that are ready together, file order decides, so the order is stable and predictable.
    let order: [String]
    private let dependents: [String: [String]]

    init(_ stages: [RecipeStage]) throws {
        let position = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1.name, $0) })
        let deps = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, $0.dependencies) })
        var dependents: [String: [String]] = [:]
        for s in stages { for d in s.dependencies { dependents[d, default: []].append(s.name) } }
        if let cycle = Self.findCycle(stages.map(\.name), deps) { throw RecipeError.cycle(cycle) }

        var remaining = deps.mapValues { Set($0) }
        var order: [String] = []
        while !remaining.isEmpty {
            // Acyclic, so some stage is always ready.
            let next = remaining.filter { $0.value.isEmpty }.keys.min { position[$0]! < position[$1]! }!
            order.append(next)
            remaining[next] = nil
            for d in dependents[next] ?? [] { remaining[d]?.remove(next) }
        }
        self.order = order
        self.dependents = dependents
    }

    /// Every stage that depends on `stage`, directly or not.
    func downstream(of stage: String) -> Set<String> {
        var seen: Set<String> = []
        var stack = dependents[stage] ?? []
        while let s = stack.popLast() {
            if seen.insert(s).inserted { stack += dependents[s] ?? [] }
        }
        return seen
    }

    /// A cycle as a path that ends where it starts, each stage needing the next (`a, b, a`), or nil.
    private static func findCycle(_ names: [String], _ deps: [String: [String]]) -> [String]? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []
        func visit(_ n: String) -> [String]? {
            if marks[n] == .done { return nil }
            if marks[n] == .visiting {
                let start = path.firstIndex(of: n)!
                return Array(path[start...]) + [n]
            }
            marks[n] = .visiting
            path.append(n)
            for d in deps[n] ?? [] { if let c = visit(d) { return c } }
            path.removeLast()
            marks[n] = .done
            return nil
        }
        for n in names { if let c = visit(n) { return c } }
        return nil
    }
}
