/// One turn of a conversation, with OpenAI/HF roles.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ c: String) -> ChatMessage { ChatMessage(.system, c) }
    public static func user(_ c: String) -> ChatMessage { ChatMessage(.user, c) }
    public static func assistant(_ c: String) -> ChatMessage { ChatMessage(.assistant, c) }
}
