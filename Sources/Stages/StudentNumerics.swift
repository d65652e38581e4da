import Models

/// The student's numerics in cache keys. Stages that train the student or run it in process
/// (train; eval with a `checkpoint` input) add `Llama.numericsRevision` to their kind's
/// version, so an upgrade that changes how the shim's kernels round runs them again, while
/// stages that only ask a teacher keep their cache.
enum StudentNumerics {
    static func version(_ base: String) -> String { "\(base)+student-numerics-\(Llama.numericsRevision)" }
}
