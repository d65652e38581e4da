import Recipes

extension StageRegistry {
    /// Every stage kind bcsft recipes can use: the pipeline stages of the paper's method.
    public static var standard: StageRegistry {
        StageRegistry([ShellStage(), WorldStage(), ExtractStage(), SolveStage(), GenerateStage(), ImproveStage(), TokenizerStage(),
                       DatasetStage(), TrainStage(), EvalStage(), ReportStage()])
    }
}
