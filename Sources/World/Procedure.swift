/// A sub-procedure of the scripted world: a step that recurs across problem families, so a
/// behavior learned on one problem helps on others (the paper's premise). Each has the
/// behavior a strategist distils from it, and two ways a teacher writes the step: re-derived
/// from scratch (vanilla) or by citing the behavior (behavior-conditioned).
public enum Procedure: String, CaseIterable, Sendable, Codable {
    case rectanglePerimeter = "rectangle_perimeter"
    case rectangleArea = "rectangle_area"
    case totalCost = "total_cost"
    case change = "change_from_payment"
    case shareEqually = "share_equally"
    case distance = "distance_from_speed"
    case combine = "combine_parts"

    public var behaviorName: String { "behavior_" + rawValue }

    public var topic: String {
        switch self {
        case .rectanglePerimeter, .rectangleArea: "geometry"
        case .totalCost, .change: "money"
        case .distance: "motion"
        case .shareEqually, .combine: "arithmetic"
        }
    }

    /// The instruction a strategist writes for it; worded with the words problems use, so
    /// lexical retrieval (BM25) can find it from a question.
    public var instruction: String {
        switch self {
        case .rectanglePerimeter: "For the fence, border or perimeter around a rectangle, add the length and the width and double the sum."
        case .rectangleArea: "For the area of a rectangle, or how many square tiles cover a rectangle floor or garden, multiply the length by the width."
        case .totalCost: "For the total cost of several items or meters at the same price each, multiply the number by the price of one."
        case .change: "For the change after paying with a bill, subtract the total cost from the amount paid."
        case .shareEqually: "To share or split a total equally among people or days, divide the total by their number."
        case .distance: "For the distance traveled at a constant speed in km per hour, multiply the speed by the hours."
        case .combine: "For a total made of two parts or two legs of a trip, add the parts."
        }
    }

    /// A phrase only the vanilla (re-derived) wording of this step contains: how the scripted
    /// strategist recognises the step in a trace it reads.
    var signature: String {
        switch self {
        case .rectanglePerimeter: "goes along the four sides"
        case .rectangleArea: "rows of unit squares"
        case .totalCost: "together they cost"
        case .change: "what comes back"
        case .shareEqually: "so that"
        case .distance: "each hour"
        case .combine: "Putting the two parts together"
        }
    }

    /// The exact result of the step.
    func apply(_ x: Int, _ y: Int) -> Int {
        switch self {
        case .rectanglePerimeter: 2 * (x + y)
        case .rectangleArea, .totalCost, .distance: x * y
        case .change: x - y
        case .shareEqually: x / y
        case .combine: x + y
        }
    }

    /// The step written out from scratch, with `r` as its (possibly wrong) result.
    func vanilla(_ x: Int, _ y: Int, _ r: Int, unit: String) -> String {
        switch self {
        case .rectanglePerimeter:
            "The fence goes along the four sides of the rectangle: \(x), \(y), \(x) and \(y). \(x) + \(y) = \(x + y), and the other two sides add up to the same, so \(x + y) + \(x + y) = \(r). The perimeter is \(r) \(unit)."
        case .rectangleArea:
            "The rectangle is covered by rows of unit squares: \(y) rows of \(x) squares each, so the area is \(x) × \(y) = \(r) square \(unit)."
        case .totalCost:
            "Each of the \(x) costs \(y) dollars, so together they cost \(x) times \(y): \(x) × \(y) = \(r) dollars."
        case .change:
            "The payment is \(x) dollars and the cost is \(y) dollars, so what comes back is the difference: \(x) − \(y) = \(r) dollars."
        case .shareEqually:
            "Sharing \(x) equally among \(y) means finding the amount each gets so that \(y) of them make \(x): \(x) ÷ \(y) = \(r)."
        case .distance:
            "At \(x) km per hour the trip covers \(x) km each hour, for \(y) hours: \(x) × \(y) = \(r) km."
        case .combine:
            "Putting the two parts together: \(x) + \(y) = \(r)."
        }
    }

    /// The step applied by citing its behavior (by the name the context gave it): shorter,
    /// the reasoning already distilled.
    func cited(_ x: Int, _ y: Int, _ r: Int, unit: String, as name: String) -> String {
        switch self {
        case .rectanglePerimeter: "By \(name), 2 × (\(x) + \(y)) = 2 × \(x + y) = \(r) \(unit)."
        case .rectangleArea: "By \(name), \(x) × \(y) = \(r) square \(unit)."
        case .totalCost: "By \(name), \(x) × \(y) = \(r) dollars."
        case .change: "By \(name), \(x) − \(y) = \(r) dollars."
        case .shareEqually: "By \(name), \(x) ÷ \(y) = \(r)."
        case .distance: "By \(name), \(x) × \(y) = \(r) km."
        case .combine: "By \(name), \(x) + \(y) = \(r)."
        }
    }
}
