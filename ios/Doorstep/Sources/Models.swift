import DoorstepCore
import Foundation

// The screens' state holders, the same as the Android shell's (android/state, tested on the JVM
// against the real core): they keep what a screen shows and call the core when a person acts;
// every decision is the core's.

enum Home {
    case enroll, households, helpList, summary, notOnPhones

    init(_ e: Enrollment?) {
        switch e?.role {
        case nil: self = .enroll
        case "grid_worker": self = .households
        case "liaison_lead": self = .helpList
        case "supervisor": self = .summary
        default: self = .notOnPhones
        }
    }
}

@MainActor
final class EnrollmentModel: ObservableObject {
    @Published var serverUrl = ""
    @Published var code = ""
    @Published private(set) var busy = false
    @Published private(set) var problem: Problem?
    @Published private(set) var enrolled: Enrollment?
    private let core: Core

    init(core: Core) { self.core = core }

    /// A scanned QR code fills both fields and enrolls at once.
    func scanned(_ text: String) async {
        do {
            let link = try parseEnrollmentLink(text: text)
            serverUrl = link.serverUrl
            code = link.code
            await submit()
        } catch {
            problem = Problem(error)
        }
    }

    func submit() async {
        let url = serverUrl.trimmingCharacters(in: .whitespaces)
        let c = code.trimmingCharacters(in: .whitespaces)
        if url.isEmpty { problem = Problem(.invalid, field: "server_url"); return }
        if c.isEmpty { problem = Problem(.invalid, field: "code"); return }
        busy = true
        problem = nil
        switch await core.call({ try $0.enroll(serverUrl: url, code: c) }) {
        case let .success(e): enrolled = e
        case let .failure(p): problem = p
        }
        busy = false
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

@MainActor
final class HouseholdModel: ObservableObject {
    let householdId: String
    @Published private(set) var household: Household?
    @Published private(set) var visits: [Visit] = []
    @Published private(set) var items: HouseholdItems?
    @Published private(set) var problem: Problem?
    private let core: Core

    init(core: Core, householdId: String) {
        self.core = core
        self.householdId = householdId
    }

    func refresh() async {
        let id = householdId
        let now = core.now
        switch await core.call({ s in (try s.household(id: id), try s.householdItems(householdId: id, now: now)) }) {
        case let .success((h, i)):
            household = h
            visits = h.visits.sorted { $0.at > $1.at }
            items = i
        case let .failure(p): problem = p
        }
    }

    func settle(_ c: Conflict, choice: Int) async {
        if case let .failure(p) = await core.call({ try $0.settleConflict(docId: c.docId, path: c.path, choice: UInt32(choice)) }) {
            problem = p
            return
        }
        await refresh()
    }
}

@MainActor
final class VisitModel: ObservableObject {
    let householdId: String
    @Published var kind: VisitKind = .routine
    @Published var notes = ""
    @Published private(set) var needs: [String] = []
    @Published var openTask = false
    @Published var taskNeed = ""
    @Published var taskDueDays: Int?
    @Published var openAppeal = false
    @Published var appealTopic = "other"
    @Published var appealTier: Tier = .general
    @Published var appealSummary = ""
    @Published private(set) var saving = false
    @Published private(set) var problem: Problem?
    @Published private(set) var saved: VisitOutcome?
    let quickNeeds = ["买药", "陪同就医", "送餐", "理发", "维修", "代缴费用", "聊天陪伴"]
    let topics = knownTopics()
    private let core: Core

    init(core: Core, householdId: String) {
        self.core = core
        self.householdId = householdId
    }

    /// The first need found switches "open a help task" on with that need as its text.
    func toggleNeed(_ need: String) {
        if let i = needs.firstIndex(of: need) {
            needs.remove(at: i)
            if taskNeed == need { taskNeed = needs.joined(separator: "、") }
            openTask = openTask && !taskNeed.isEmpty
        } else {
            needs.append(need)
            if taskNeed.isEmpty || openTask { taskNeed = needs.joined(separator: "、") }
            openTask = true
        }
    }

    func save() async {
        guard !saving, saved == nil else { return }
        saving = true
        problem = nil
        let now = core.now
        let task = openTask ? VisitTask(need: taskNeed.trimmingCharacters(in: .whitespaces),
                                        dueBy: taskDueDays.map { now + Int64($0) * 86_400_000 }) : nil
        let appeal = openAppeal ? VisitAppeal(topic: appealTopic, tier: appealTier,
                                              summary: appealSummary.trimmingCharacters(in: .whitespaces)) : nil
        let visit = NewVisit(at: nil, kind: kind, notes: notes, needs: needs)
        let id = householdId
        switch await core.call({ try $0.recordVisit(householdId: id, visit: visit, task: task, appeal: appeal) }) {
        case let .success(out): saved = out
        case let .failure(p): problem = p
        }
        saving = false
    }
}

@MainActor
final class HelpListModel: ObservableObject {
    @Published private(set) var open: [TaskRow] = []
    @Published private(set) var mine: [TaskRow] = []
    @Published private(set) var doneRecently: [TaskRow] = []
    @Published private(set) var lost: [TaskRow] = []
    @Published private(set) var problem: Problem?
    private let core: Core
    private let groups: [String]
    private let me: String

    init(core: Core, groups: [String], me: String) {
        self.core = core
        self.groups = groups
        self.me = me
    }

    func refresh() async {
        let (groups, me, now) = (self.groups, self.me, core.now)
        switch await core.call({ s in try groups.map { try s.leadTasks(group: $0, me: me, now: now) } }) {
        case let .success(lists):
            open = lists.flatMap(\.open)
            mine = unique(lists.flatMap(\.mine))
            doneRecently = lists.flatMap(\.doneRecently).sorted { ($0.doneAt ?? 0) > ($1.doneAt ?? 0) }
            lost = unique(lists.flatMap(\.lost))
        case let .failure(p): problem = p
        }
    }

    func claim(_ id: String) async { await act(id, .claim) }
    func done(_ id: String) async { await act(id, .done(note: "")) }

    private func act(_ id: String, _ action: TaskAction) async {
        let r = await core.call({ try $0.actOnTask(id: id, action: action) })
        await refresh()
        if case let .failure(p) = r { problem = p }
    }

    private func unique(_ rows: [TaskRow]) -> [TaskRow] {
        var seen = Set<String>()
        return rows.filter { seen.insert($0.id).inserted }
    }
}

/// A ledger line: the appeal and its countdown in words, from the core.
struct LedgerLine: Identifiable {
    let row: AppealRow
    let countdown: String
    var id: String { row.id }
    var overdue: Bool { if case .overdue = row.deadline { return true } else { return false } }
}

@MainActor
final class LedgerModel: ObservableObject {
    @Published var overdueOnly = false
    @Published var tier: Tier?
    @Published private(set) var lines: [LedgerLine] = []
    @Published private(set) var problem: Problem?
    private let core: Core

    init(core: Core) { self.core = core }

    func refresh() async {
        let q = AppealQuery(grid: nil, status: nil, openOnly: true, tier: tier, topic: nil, overdueOnly: overdueOnly, limit: 0)
        let (now, lang) = (core.now, core.lang)
        switch await core.call({ try $0.appealLedger(query: q, now: now) }) {
        case let .success(rows): lines = rows.map { LedgerLine(row: $0, countdown: deadlineWords(deadline: $0.deadline, lang: lang)) }
        case let .failure(p): problem = p
        }
    }
}

@MainActor
final class AppealModel: ObservableObject {
    let appealId: String
    @Published private(set) var appeal: Appeal?
    @Published private(set) var countdown = ""
    @Published private(set) var actions: [AppealEventKind] = []
    @Published private(set) var problem: Problem?
    private let core: Core

    init(core: Core, appealId: String) {
        self.core = core
        self.appealId = appealId
    }

    func refresh() async {
        let (id, now) = (appealId, core.now)
        show(await core.call({ try $0.appeal(id: id, now: now) }))
    }

    func act(_ action: AppealAction) async {
        let (id, now) = (appealId, core.now)
        show(await core.call({ try $0.actOnAppeal(id: id, action: action, now: now) }))
    }

    private func show(_ r: Result<Appeal, Problem>) {
        switch r {
        case let .success(a):
            appeal = a
            countdown = deadlineWords(deadline: a.deadline, lang: core.lang)
            actions = allowedAppealActions(status: a.status)
            problem = nil
        case let .failure(p): problem = p
        }
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

@MainActor
final class SummaryModel: ObservableObject {
    @Published private(set) var grids: [GridSummary] = []
    @Published private(set) var problem: Problem?
    private let core: Core
    private let scope: [String]

    init(core: Core, grids: [String]) {
        self.core = core
        self.scope = grids
    }

    func refresh() async {
        let (scope, now) = (self.scope, core.now)
        switch await core.call({ try $0.gridSummaries(grids: scope, now: now) }) {
        case let .success(rows): grids = rows
        case let .failure(p): problem = p
        }
    }

    static func percent(_ g: GridSummary) -> Int {
        g.households == 0 ? 0 : Int((UInt64(g.visited30Days) * 100 + UInt64(g.households) / 2) / UInt64(g.households))
    }
}
