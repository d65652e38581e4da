/// The student's numerics in cache keys. Stages that train the student or run it in process
/// (train; eval with a `model` input) add this revision to their kind's version, so an upgrade
/// that changes how the shim's kernels round (and so what a seeded run trains or generates)
/// runs them again, while stages that only ask a teacher keep their cache. Bump `revision` with
/// such a change.
enum StudentNumerics {
    /// 2: the fused causal attention, SwiGLU, RMSNorm, rotary and cross-entropy kernels.
    static let revision = 2

    static func version(_ base: String) -> String { "\(base)+student-numerics-\(revision)" }
}
