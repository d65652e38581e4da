import Backends
import Foundation
import Pipelines
import Recipes
import Settings
import Teachers

/// A stage kind that runs one pipeline step: its settings are the step's settings type (the
/// same keys, defaults, checks and messages as the step's command), so the two cannot drift.
protocol StepStage: StageKind {
    associatedtype Step: Settings
    /// Keys of `Step` the kind fills from its inputs or output, which a recipe may not set.
    var filledKeys: Set<String> { get }
}

extension StepStage {
    var settingKeys: Set<String> { Set(Step.keys).subtracting(filledKeys) }
    var filledKeys: Set<String> { [] }
}

/// A step that asks a model. A `checkpoint` input is what a local backend runs (the stage
/// then needs no `backend` setting); otherwise `backend` is required: the scripted world, like
/// any other model, is named, never fallen back to.
protocol ModelStepStage: StepStage where Step: ModelStepSettings {}

extension ModelStepStage {
    /// Every model step reads a problems file; the rest is the settings' own checks.
    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("problems")
        _ = try step(s, inputs: inputs)
    }

    /// The step's settings and its problems.
    func prepare(_ context: StageContext) throws -> (Step, [Problem]) {
        let step = try step(context.settings, inputs: context.inputs)
        return (step, try step.problems.load(try context.inputs.url("problems")))
    }

    func step(_ s: StageSettings, inputs: StageInputs) throws -> Step {
        let checkpoint = try inputs.optionalURL("checkpoint")
        let step = try s.decode(Step.self) { $0.backend.checkpoint = checkpoint }
        do { try step.backend.checkDevice() } catch let SettingsError.invalid(key, reason, _) { throw s.error(key, reason) }
        return step
    }

    /// The model, behind the response cache every stage of the run shares (keys cover the
    /// model, the messages and the sampling, and a student's name its weights' content, so
    /// sharing is safe): changing a downstream setting never asks a model again.
    func model(_ step: Step, _ context: StageContext) throws -> LanguageModel {
        try step.backend.make(cache: context.workdir.appendingPathComponent(".cache/responses.sqlite"))
    }

    /// Progress of a step's requests as the stage's progress line.
    func progress(_ context: StageContext, _ unit: String) -> ConcurrentRunner.Progress {
        { done, total in context.progress(Double(done) / Double(total), "\(done)/\(total) \(unit)") }
    }
}
