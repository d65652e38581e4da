import Foundation
import Pipelines

/// The grader the pipelines use to mark responses correct.
/// TEMPORARY until the Evaluation module lands: the last \boxed{...} compared exactly.
let answerVerifier: Verify = { response, gold in
    guard let r = response.range(of: "\\boxed{", options: .backwards),
          let close = response[r.upperBound...].firstIndex(of: "}") else { return false }
    return response[r.upperBound..<close].trimmingCharacters(in: .whitespaces) == gold.trimmingCharacters(in: .whitespaces)
}
