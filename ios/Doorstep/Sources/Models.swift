import DoorstepCore
import Foundation

// The screens' adapters: each publishes a shared screen's views (screens/, in Rust: the same
// screens the Android shell's android/state adapts, tested in Rust against a real server) and
// calls it off the main thread. Nothing here decides anything.

/// The first screen, as the core decides it from the store's enrollment (`homeScreen`).
enum Home {
    case enroll, households, helpList, summary, notOnPhones

    init(_ store: DoorstepStore) {
        switch homeScreen(store: store) {
        case .enroll: self = .enroll
        case .households: self = .households
        case .helpList: self = .helpList
        case .summary: self = .summary
        case .notOnPhones: self = .notOnPhones
        }
    }
}

/// Runs a screen's call off the main thread.
func offMain<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await Task.detached(priority: .userInitiated) { body() }.value
}

final class EnrollmentRelay: EnrollmentListener {
    let relay: Relay<EnrollmentView>
    init(_ relay: Relay<EnrollmentView>) { self.relay = relay }
    func changed(view: EnrollmentView) { relay.deliver(view) }
}

@MainActor
final class EnrollmentModel: ObservableObject {
    @Published private(set) var view: EnrollmentView
    private let screen: EnrollmentScreen

    var serverUrl: String {
        get { view.serverUrl }
        set { screen.setServerUrl(url: newValue) }
    }
    var code: String {
        get { view.code }
        set { screen.setCode(code: newValue) }
    }
    var busy: Bool { view.busy }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }
    var enrolled: Enrollment? { view.enrolled }

    init(core: Core) {
        screen = EnrollmentScreen(store: core.store)
        view = screen.view()
        screen.setListener(listener: EnrollmentRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    /// A scanned QR code fills both fields and enrolls at once.
    func scanned(_ text: String) async {
        let screen = self.screen
        await offMain { screen.scanned(text: text) }
        view = screen.view()
    }

    func submit() async {
        let screen = self.screen
        await offMain { screen.submit() }
        view = screen.view()
    }
}

/// Hands a shared screen's views to a closure (the adapters below hop to the main actor).
final class Relay<View>: @unchecked Sendable {
    let deliver: (View) -> Void
    init(_ deliver: @escaping (View) -> Void) { self.deliver = deliver }
}

final class HouseholdListRelay: HouseholdListListener {
    let relay: Relay<HouseholdListView>
    init(_ relay: Relay<HouseholdListView>) { self.relay = relay }
    func changed(view: HouseholdListView) { relay.deliver(view) }
}

/// My grid's households, as the core's shared screen decides them (screens/src/households.rs):
/// this class only publishes its views and calls it off the main thread.
@MainActor
final class HouseholdsModel: ObservableObject {
    @Published private(set) var view: HouseholdListView
    private let screen: HouseholdListScreen

    var grid: String { view.grid }
    var grids: [String] { view.grids }
    var search: String { view.search }
    var tag: AttentionTag? { view.tag }
    var notVisitedLately: Bool { view.notVisitedLately }
    var rows: [HouseholdRow] { view.rows }
    var more: Bool { view.more }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }

    init(core: Core, grids: [String]) {
        screen = HouseholdListScreen(store: core.store, grids: grids, pageSize: 50)
        view = screen.view()
        screen.setListener(listener: HouseholdListRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    private func run(_ body: @escaping @Sendable (HouseholdListScreen) -> Void) async {
        let screen = self.screen
        await Task.detached(priority: .userInitiated) { body(screen) }.value
    }

    func setGrid(_ g: String) async { await run { $0.setGrid(grid: g) } }
    func setSearch(_ text: String) async { await run { $0.setSearch(text: text) } }
    func setTag(_ t: AttentionTag?) async { await run { $0.setTag(tag: t) } }
    func setNotVisitedLately(_ on: Bool) async { await run { $0.setNotVisitedLately(on: on) } }
    func refresh() async { await run { $0.refresh() } }
    func loadMore() async { await run { $0.loadMore() } }
}

final class HouseholdDetailRelay: HouseholdDetailListener {
    let relay: Relay<HouseholdDetailView>
    init(_ relay: Relay<HouseholdDetailView>) { self.relay = relay }
    func changed(view: HouseholdDetailView) { relay.deliver(view) }
}

@MainActor
final class HouseholdModel: ObservableObject {
    let householdId: String
    @Published private(set) var view: HouseholdDetailView
    private let screen: HouseholdDetailScreen

    var household: Household? { view.household }
    var visits: [Visit] { view.visits }
    var items: HouseholdItems? { view.items }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }

    init(core: Core, householdId: String) {
        self.householdId = householdId
        screen = HouseholdDetailScreen(store: core.store, householdId: householdId)
        view = screen.view()
        screen.setListener(listener: HouseholdDetailRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    func refresh() async {
        let screen = self.screen
        await offMain { screen.refresh() }
    }

    func settle(_ c: Conflict, choice: Int) async {
        let screen = self.screen
        _ = await offMain { screen.settle(docId: c.docId, path: c.path, choice: UInt32(choice)) }
    }
}

final class VisitFormRelay: VisitFormListener {
    let relay: Relay<VisitFormView>
    init(_ relay: Relay<VisitFormView>) { self.relay = relay }
    func changed(view: VisitFormView) { relay.deliver(view) }
}

/// Recording a visit in a few taps (screens/src/visit.rs decides what a need or a switch opens).
@MainActor
final class VisitModel: ObservableObject {
    let householdId: String
    @Published private(set) var view: VisitFormView
    private let screen: VisitFormScreen
    let quickNeeds = DoorstepCore.quickNeeds()
    let topics = knownTopics()

    var kind: VisitKind {
        get { view.kind }
        set { screen.setKind(kind: newValue); view = screen.view() }
    }
    var notes: String {
        get { view.notes }
        set { screen.setNotes(notes: newValue); view = screen.view() }
    }
    var needs: [String] { view.needs }
    var openTask: Bool {
        get { view.openTask }
        set { screen.setOpenTask(on: newValue); view = screen.view() }
    }
    var taskNeed: String {
        get { view.taskNeed }
        set { screen.setTaskNeed(text: newValue); view = screen.view() }
    }
    var taskDueDays: Int? {
        get { view.taskDueDays.map(Int.init) }
        set { screen.setTaskDueDays(days: newValue.map(UInt32.init)); view = screen.view() }
    }
    var openAppeal: Bool {
        get { view.openAppeal }
        set { screen.setOpenAppeal(on: newValue); view = screen.view() }
    }
    var appealTopic: String {
        get { view.appealTopic }
        set { screen.setAppealTopic(code: newValue); view = screen.view() }
    }
    var appealTier: Tier {
        get { view.appealTier }
        set { screen.setAppealTier(tier: newValue); view = screen.view() }
    }
    var appealSummary: String {
        get { view.appealSummary }
        set { screen.setAppealSummary(text: newValue); view = screen.view() }
    }
    var saving: Bool { view.saving }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }
    var saved: VisitOutcome? { view.saved }

    init(core: Core, householdId: String) {
        self.householdId = householdId
        screen = VisitFormScreen(store: core.store, householdId: householdId)
        view = screen.view()
        screen.setListener(listener: VisitFormRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    func toggleNeed(_ need: String) {
        screen.toggleNeed(need: need)
        view = screen.view()
    }

    func save() async {
        let screen = self.screen
        _ = await offMain { screen.save() }
        view = screen.view()
    }
}

final class HelpTasksRelay: HelpTasksListener {
    let relay: Relay<HelpTasksView>
    init(_ relay: Relay<HelpTasksView>) { self.relay = relay }
    func changed(view: HelpTasksView) { relay.deliver(view) }
}

@MainActor
final class HelpListModel: ObservableObject {
    @Published private(set) var view: HelpTasksView
    private let screen: HelpTasksScreen

    var open: [TaskRow] { view.open }
    var mine: [TaskRow] { view.mine }
    var doneRecently: [TaskRow] { view.doneRecently }
    var lost: [TaskRow] { view.lost }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }

    init(core: Core, groups: [String], me: String) {
        screen = HelpTasksScreen(store: core.store, groups: groups, me: me)
        view = screen.view()
        screen.setListener(listener: HelpTasksRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    func refresh() async {
        let screen = self.screen
        await offMain { screen.refresh() }
    }

    func claim(_ id: String) async {
        let screen = self.screen
        _ = await offMain { screen.claim(taskId: id) }
    }

    func done(_ id: String) async {
        let screen = self.screen
        _ = await offMain { screen.done(taskId: id, note: "") }
    }
}

/// A ledger line: the appeal and its countdown in the core's words.
struct LedgerLine: Identifiable {
    let row: AppealRow
    let countdown: String
    var id: String { row.id }
    var overdue: Bool { if case .overdue = row.deadline { return true } else { return false } }
}

final class AppealLedgerRelay: AppealLedgerListener {
    let relay: Relay<AppealLedgerView>
    init(_ relay: Relay<AppealLedgerView>) { self.relay = relay }
    func changed(view: AppealLedgerView) { relay.deliver(view) }
}

@MainActor
final class LedgerModel: ObservableObject {
    @Published private(set) var view: AppealLedgerView
    private let screen: AppealLedgerScreen
    private let lang: Lang

    var overdueOnly: Bool {
        get { view.overdueOnly }
        set { let screen = self.screen; Task.detached { screen.setOverdueOnly(on: newValue) } }
    }
    var tier: Tier? { view.tier }
    var lines: [LedgerLine] {
        view.lines.map { LedgerLine(row: $0, countdown: deadlineWords(deadline: $0.deadline, lang: lang)) }
    }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }

    init(core: Core) {
        lang = core.lang
        screen = AppealLedgerScreen(store: core.store, grid: nil)
        view = screen.view()
        screen.setListener(listener: AppealLedgerRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    /// Every minute while shown: the countdowns move.
    func refresh() async {
        let screen = self.screen
        await offMain { screen.tick() }
    }
}

final class AppealDetailRelay: AppealDetailListener {
    let relay: Relay<AppealDetailView>
    init(_ relay: Relay<AppealDetailView>) { self.relay = relay }
    func changed(view: AppealDetailView) { relay.deliver(view) }
}

@MainActor
final class AppealModel: ObservableObject {
    let appealId: String
    @Published private(set) var view: AppealDetailView
    private let screen: AppealDetailScreen
    private let lang: Lang

    var appeal: Appeal? { view.appeal }
    var countdown: String { view.appeal.map { deadlineWords(deadline: $0.deadline, lang: lang) } ?? "" }
    var actions: [AppealEventKind] { view.actions }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }

    init(core: Core, appealId: String) {
        self.appealId = appealId
        lang = core.lang
        screen = AppealDetailScreen(store: core.store, appealId: appealId)
        view = screen.view()
        screen.setListener(listener: AppealDetailRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    func refresh() async {
        let screen = self.screen
        await offMain { screen.refresh() }
    }

    func act(_ action: AppealAction) async {
        let screen = self.screen
        _ = await offMain { screen.act(action: action) }
    }
}

final class SyncBarRelay: SyncBarListener {
    let relay: Relay<SyncBarView>
    init(_ relay: Relay<SyncBarView>) { self.relay = relay }
    func changed(view: SyncBarView) { relay.deliver(view) }
}

/// The sync bar, as the core's shared screen decides it (screens/src/sync_bar.rs): this class
/// only publishes its views and calls it off the main thread.
@MainActor
final class SyncModel: ObservableObject {
    @Published private(set) var view: SyncBarView
    private let core: Core
    private let screen: SyncBarScreen

    var unsynced: UInt64 { view.unsynced }
    var lastSuccessAt: Int64? { view.lastSuccessAt }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }
    var running: Bool { view.running }
    /// The server said this phone was revoked and the core erased the store.
    var wiped: Bool { view.wiped }
    /// The phone's clock is off by more than five minutes from the server's.
    var clockWrong: Bool { view.clockWrong }
    /// Documents the server refused: why, and the actions it did not take.
    var refused: [RefusedItem] { view.refused }

    init(core: Core, syncer: Syncer) {
        self.core = core
        screen = syncer.screen
        view = syncer.screen.view()
        screen.setListener(listener: SyncBarRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (SyncBarScreen) -> T) async -> T {
        let screen = self.screen
        return await Task.detached(priority: .userInitiated) { body(screen) }.value
    }

    func refresh() async { await run { $0.refresh() } }

    /// Why a refused document was refused, in the person's language.
    func reason(_ r: RefusedItem) -> String {
        core.lang == .en ? r.reasonEn : r.reasonZh
    }

    /// The person chose to let a refused document's changes go: it becomes the server's copy.
    func dropRefused(_ docId: String) async { _ = await run { $0.dropRefused(docId: docId) } }

    /// Returns true when the sync worked (the lists then read again).
    func syncNow() async -> Bool { await run { $0.syncNow() } }
}

final class GridSummaryRelay: GridSummaryListener {
    let relay: Relay<GridSummaryView>
    init(_ relay: Relay<GridSummaryView>) { self.relay = relay }
    func changed(view: GridSummaryView) { relay.deliver(view) }
}

@MainActor
final class SummaryModel: ObservableObject {
    @Published private(set) var view: GridSummaryView
    private let screen: GridSummaryScreen

    var grids: [GridSummary] { view.grids }
    var problem: Problem? { view.problem.map(Problem.init(screen:)) }

    init(core: Core, grids: [String]) {
        screen = GridSummaryScreen(store: core.store, grids: grids)
        view = screen.view()
        screen.setListener(listener: GridSummaryRelay(Relay { [weak self] v in
            Task { @MainActor in self?.view = v }
        }))
    }

    func refresh() async {
        let screen = self.screen
        await offMain { screen.refresh() }
    }

    /// The core's percent of households visited in 30 days, for a grid shown.
    func percent(_ g: GridSummary) -> Int {
        guard let i = view.grids.firstIndex(of: g), i < view.coveragePercent.count else { return 0 }
        return Int(view.coveragePercent[i])
    }
}
