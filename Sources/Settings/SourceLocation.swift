/// Where a recipe value came from, so every error can point at it: `recipes/x.yaml:12`, or the
/// `--set` argument that put it there.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based; nil for values that came from the command line.
    public var line: Int?

    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    public var description: String { line.map { "\(file):\($0)" } ?? file }
}
