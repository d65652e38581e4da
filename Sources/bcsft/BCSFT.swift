import ArgumentParser
import Foundation
import Settings
import Torch

@main
struct BCSFT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bcsft",
        abstract: "Behavior-conditioned SFT: extract reusable reasoning behaviors, build BC-SFT data, train and evaluate students.",
        discussion: """
        Threads: with oneDNN (the default where libdnnl is installed), torch and the matrix
        products use every core; with BCSFT_GEMM=aten, torch uses 1 thread and OpenBLAS every
        core (measured: docs/performance.md). Override with BCSFT_TORCH_THREADS and
        BCSFT_BLAS_THREADS.
        """,
        subcommands: [DoctorCommand.self, TokenizerCommand.self, DatasetCommand.self, TrainCommand.self, SampleCommand.self, ExportCommand.self,
                      WorldCommand.self, ExtractCommand.self, SolveCommand.self, ImproveCommand.self, GenerateCommand.self,
                      EvalCommand.self, GradeCommand.self, ReportCommand.self, ServeCommand.self, RunCommand.self]
    )
}

/// Applies the thread settings before any tensor work; every command that computes calls it.
func configureRuntime() throws {
    try Runtime.apply(Runtime.Settings.fromEnvironment())
}
