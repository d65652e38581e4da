import Foundation
import Settings

/// A stage's inputs: names mapped to resolved paths (another stage's output folder or a file
/// the recipe names). Errors name `stages.NAME.inputs.INPUT` and its line.
public struct StageInputs: Sendable {
    public let stage: String
    public let paths: [String: [URL]]
    let locations: [String: SourceLocation]
    let stageLocation: SourceLocation

    public init(stage: String, paths: [String: [URL]]) {
        self.init(stage: stage, paths: paths, locations: [:], stageLocation: SourceLocation(file: "inputs", line: nil))
    }

    init(stage: String, paths: [String: [URL]], locations: [String: SourceLocation], stageLocation: SourceLocation) {
        self.stage = stage
        self.paths = paths
        self.locations = locations
        self.stageLocation = stageLocation
    }

    public var names: [String] { paths.keys.sorted() }

    /// The one path of a required input.
    public func url(_ name: String) throws -> URL {
        let us = try urls(name)
        guard us.count == 1 else { throw error(name, "expected one path, got \(us.count)") }
        return us[0]
    }

    /// Every path of a required input (a recipe may give a list).
    public func urls(_ name: String) throws -> [URL] {
        guard let us = paths[name], !us.isEmpty else { throw error(name, "missing (a path is required)") }
        return us
    }

    /// The path of an input the recipe may leave out.
    public func optionalURL(_ name: String) throws -> URL? {
        paths[name] == nil ? nil : try url(name)
    }

    public func error(_ name: String, _ reason: String) -> RecipeError {
        .input(locations[name] ?? stageLocation, stage: stage, name: name, reason: reason)
    }
}
