import DoorstepCore

// uniffi's Swift enums are not CaseIterable; the pickers and filter chips need their cases, in
// the core's order (Kotlin gets the same from `entries`).

extension AttentionTag: CaseIterable {
    public static var allCases: [AttentionTag] {
        [.floatingPopulation, .unemployed, .assistanceRecipient, .underAttention, .disabled,
         .elderlyAlone, .minimumAllowance, .bereavedParent, .loneElderly]
    }
}

extension VisitKind: CaseIterable {
    public static var allCases: [VisitKind] { [.routine, .followUp, .onRequest] }
}

extension Tier: CaseIterable {
    public static var allCases: [Tier] { [.urgent, .basicLiving, .general, .complex] }
}
