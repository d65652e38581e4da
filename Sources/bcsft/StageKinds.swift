import Recipes

extension StageRegistry {
    /// The stage kinds `bcsft run` offers to recipes. Register new kinds here.
    static var standard: StageRegistry {
        StageRegistry([
            ShellStage(),
        ])
    }
}
