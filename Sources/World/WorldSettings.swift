import Foundation
import Settings

/// `bcsft world` and `kind: world`: how many problems of the SCRIPTED world to write, from which seed.
public struct WorldSettings: Settings {
    public var train = 1000
    public var test = 200
    public var seed: UInt64 = 0

    enum CodingKeys: String, CodingKey { case train, test, seed }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&train, .train)
        try c.update(&test, .test)
        try c.update(&seed, .seed)
    }

    public func validate() throws {
        guard train >= 0 else { throw SettingsError.invalid("train", "must be >= 0") }
        guard test >= 1 else { throw SettingsError.invalid("test", "must be at least 1") }
    }

    /// The two splits, disjoint; an error when the world has too few distinct problems.
    public func splits() throws -> (train: [WorldProblem], test: [WorldProblem]) {
        let (tr, te) = World(seed: seed).splits(train: train, test: test)
        guard tr.count == train, te.count == test else {
            throw SettingsError.invalid("train", "the world has only \(tr.count + te.count) distinct problems for seed \(seed); ask for fewer")
        }
        return (tr, te)
    }
}
