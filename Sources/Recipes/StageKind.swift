/// A kind of stage a recipe can name in `kind:` (tokenizer, train, evaluate, ...). Kinds are
/// registered by the program that runs recipes (`StageRegistry`); the runner checks every
/// stage's settings with its kind before any stage runs, so a typo in the last stage fails at
/// once rather than after the first hour.
///
/// ```swift
/// struct TokenizerStage: StageKind {
///     let name = "tokenizer"
///     let version = "1"
///     let settingKeys: Set<String> = ["vocab_size", "seed"]
///     let inputNames: Set<String>? = ["corpus"]
///     func validate(_ settings: StageSettings, inputs: StageInputs) throws {
///         guard try settings.value("vocab_size", as: Int.self) >= 64 else { throw settings.error("vocab_size", "must be at least 64") }
///         _ = try inputs.url("corpus")
///     }
///     func run(_ context: StageContext) async throws {
///         let vocab: Int = try context.settings.value("vocab_size")
///         let corpus = try context.inputs.url("corpus")
///         context.progress(0.5, "training")
///         try write(to: context.output.appendingPathComponent("tokenizer.model"))
///     }
/// }
/// ```
public protocol StageKind: Sendable {
    /// The name recipes use in `kind:`.
    var name: String { get }
    /// Part of every cache key: change it when the kind's outputs change for the same settings,
    /// so stages cached by the old code run again.
    var version: String { get }
    /// The settings keys the kind reads; any other key is an error naming it.
    var settingKeys: Set<String> { get }
    /// The input names the kind reads; nil accepts any name.
    var inputNames: Set<String>? { get }
    /// The version that goes into this stage's cache key, given its settings and inputs: `version`
    /// unless the kind's outputs also depend on something else about the code for some settings
    /// (a stage that runs the student model depends on its kernels' rounding; one that asks a
    /// real teacher does not, and should not be asked again when those kernels change).
    func cacheVersion(_ settings: StageSettings, inputs: StageInputs) throws -> String
    /// Further checks before anything runs: required keys, types, ranges. Throw the errors of
    /// `settings` and `inputs`, which name the key and its file:line.
    func validate(_ settings: StageSettings, inputs: StageInputs) throws
    /// Does the work, writing into `context.output`. Throwing fails the stage and keeps that
    /// folder for the next attempt (`context.resuming`).
    func run(_ context: StageContext) async throws
}

extension StageKind {
    public var inputNames: Set<String>? { nil }
    public func cacheVersion(_ settings: StageSettings, inputs: StageInputs) throws -> String { version }
    public func validate(_ settings: StageSettings, inputs: StageInputs) throws {}
}
