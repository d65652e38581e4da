/// Decides whether a response answers a problem correctly (the evaluator's grader).
public typealias Verify = @Sendable (_ response: String, _ gold: String) -> Bool
