import Foundation
import Recipes
import Teachers

/// The sampling keys stages share: temperature, top_p, max_tokens, seed.
enum SamplingSetting {
    /// `budgets`: a non-empty list of output-token budgets (default: one, `max_tokens`).
    static func budgets(_ s: StageSettings) throws -> [Int] {
        let list: [Int] = s.contains("budgets") ? try s.value("budgets") : [try s.value("max_tokens", default: 4096)]
        guard !list.isEmpty, list.allSatisfy({ $0 >= 1 }) else { throw s.error("budgets", "must be a non-empty list of positive token counts") }
        return list
    }

    static let keys: Set<String> = ["temperature", "top_p", "max_tokens", "seed"]

    static func read(_ s: StageSettings, defaultMaxTokens: Int = 4096) throws -> Sampling {
        let sampling = Sampling(temperature: try s.value("temperature", default: 0.6), topP: try s.value("top_p", default: 0.95),
                                maxTokens: try s.value("max_tokens", default: defaultMaxTokens), n: 1, seed: try s.value("seed", default: 0))
        guard sampling.temperature >= 0 else { throw s.error("temperature", "must be >= 0") }
        guard sampling.topP > 0, sampling.topP <= 1 else { throw s.error("top_p", "must be in (0, 1]") }
        guard sampling.maxTokens >= 1 else { throw s.error("max_tokens", "must be at least 1") }
        return sampling
    }
}
