import DoorstepCore
import SwiftUI
import VisionKit

// The screens: they draw a model's state and call its actions, nothing more.

struct SyncBar: View {
    @ObservedObject var m: Observed<SyncBarScreen, SyncBarView>
    let lang: Lang
    var onSynced: () -> Void

    var body: some View {
        let model = m.view
        HStack {
            VStack(alignment: .leading) {
                Text(model.unsynced == 0 ? String(localized: "sync.all_sent")
                     : String(format: String(localized: "sync.waiting"), model.unsynced))
                    .font(.subheadline)
                if let at = model.lastSuccessAt {
                    Text(String(format: String(localized: "sync.last"), ago(at))).font(.caption)
                } else {
                    Text("sync.never").font(.caption)
                }
                if let p = model.problem { Text(p.text).font(.caption).foregroundColor(.red) }
                if model.clockWrong { Text("sync.clock_wrong").font(.caption).foregroundColor(.red) }
                // Being handed over: say so and why before anything is erased; the person finishes.
                if model.handover {
                    Text("sync.handover").font(.caption).foregroundColor(.red)
                    Button("sync.handover_finish") { Task { _ = await m.run { $0.finishHandover() } } }.disabled(model.running)
                }
                if let e = model.ended {
                    Text(e.how == "handed_over" ? String(format: String(localized: "sync.ended_handed_over"), Int(e.kept))
                         : String(localized: "sync.ended_revoked")).font(.caption)
                }
                ForEach(model.refused, id: \.docId) { r in
                    HStack {
                        Text(String(format: String(localized: "sync.refused"), lang == .en ? r.reasonEn : r.reasonZh,
                                    r.actions.joined(separator: ", ")))
                            .font(.caption).foregroundColor(.red)
                        Button("sync.refused_drop") { Task { _ = await m.run { $0.dropRefused(docId: r.docId) } } }
                    }
                }
            }
            Spacer()
            if model.running {
                ProgressView()
            } else {
                Button("sync.now") { Task { if await m.run({ $0.syncNow() }) { onSynced() } } }
            }
        }
        .padding(.horizontal).padding(.vertical, 6)
        .background(model.problem == nil ? Color(.secondarySystemBackground) : Color.red.opacity(0.12))
        .task { await m.run { $0.refresh() } }
    }
}

struct EnrollView: View {
    @StateObject var m: Observed<EnrollmentScreen, EnrollmentView>
    var onEnrolled: (Enrollment) -> Void
    @State private var scanning = false

    var body: some View {
        Form {
            Section {
                Text("enroll.hint")
                if DataScannerViewController.isSupported {
                    Button("enroll.scan") { scanning = true }
                }
            }
            Section {
                TextField("enroll.server", text: m.binding({ $0.serverUrl }, { $0.setServerUrl(url: $1) }))
                    .keyboardType(.URL).textInputAutocapitalization(.never).autocorrectionDisabled()
                TextField("enroll.code", text: m.binding({ $0.code }, { $0.setCode(code: $1) }))
                    .textInputAutocapitalization(.characters).autocorrectionDisabled()
                if let p = m.view.problem { Text(p.text).foregroundColor(.red) }
                Button(m.view.busy ? "enroll.busy" : "enroll.submit") { Task { await m.run { $0.submit() } } }
                    .disabled(m.view.busy)
            }
        }
        .navigationTitle("enroll.title")
        .sheet(isPresented: $scanning) {
            QRScanner { text in
                scanning = false
                Task { await m.run { $0.scanned(text: text) } }
            }
        }
        .onChange(of: m.view.enrolled?.deviceId) { _ in
            if let e = m.view.enrolled { onEnrolled(e) }
        }
    }
}

/// The camera's QR scanner (VisionKit, iOS 16).
struct QRScanner: UIViewControllerRepresentable {
    var found: (String) -> Void

    func makeUIViewController(context: Context) -> DataScannerViewController {
        let vc = DataScannerViewController(recognizedDataTypes: [.barcode(symbologies: [.qr])])
        vc.delegate = context.coordinator
        try? vc.startScanning()
        return vc
    }

    func updateUIViewController(_ vc: DataScannerViewController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(found: found) }

    final class Coordinator: NSObject, DataScannerViewControllerDelegate {
        let found: (String) -> Void
        init(found: @escaping (String) -> Void) { self.found = found }

        func dataScanner(_ scanner: DataScannerViewController, didAdd items: [RecognizedItem], allItems: [RecognizedItem]) {
            for case let .barcode(code) in items {
                if let text = code.payloadStringValue {
                    scanner.stopScanning()
                    found(text)
                    return
                }
            }
        }
    }
}

struct HouseholdsView: View {
    @StateObject var m: Observed<HouseholdListScreen, HouseholdListView>
    let lang: Lang
    @State private var query = ""

    var body: some View {
        let model = m.view
        List {
            ScrollView(.horizontal, showsIndicators: false) {
                HStack {
                    Toggle("households.not_visited", isOn: Binding(
                        get: { model.notVisitedLately },
                        set: { on in Task { await m.run { $0.setNotVisitedLately(on: on) } } }))
                        .toggleStyle(.button)
                    ForEach(AttentionTag.allCases, id: \.self) { tag in
                        Toggle(attentionTagLabel(value: tag, lang: lang), isOn: Binding(
                            get: { model.tag == tag },
                            set: { on in Task { await m.run { $0.setTag(tag: on ? tag : nil) } } }))
                            .toggleStyle(.button)
                    }
                }
            }
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            // Visits due under the visit plans, overdue first (未诉先办), above the list.
            if !model.due.isEmpty && model.search.isEmpty {
                Section(String(format: String(localized: "households.due"), model.due.count, model.overdue)) {
                    ForEach(model.due, id: \.householdId) { d in
                        NavigationLink(value: Route.household(d.householdId)) {
                            VStack(alignment: .leading) {
                                Text("\(d.address)  \(d.name)").font(.headline)
                                Text((d.overdue
                                      ? String(format: String(localized: "due.overdue"), ago(d.dueAt), d.days)
                                      : String(format: String(localized: "due.today"), d.days)) + " · " + d.planName)
                                    .font(.caption).foregroundColor(d.overdue ? .red : .accentColor)
                            }
                        }
                    }
                }
            }
            ForEach(model.rows, id: \.id) { row in
                NavigationLink(value: Route.household(row.id)) {
                    VStack(alignment: .leading) {
                        Text("\(row.address)  \(row.name)").font(.headline)
                        Text(row.lastVisitAt.map { String(format: String(localized: "households.visited"), ago($0)) }
                             ?? String(localized: "households.never_visited")).font(.caption)
                        if !row.tags.isEmpty {
                            Text(row.tags.map { attentionTagLabel(value: $0, lang: lang) }.joined(separator: " · "))
                                .font(.caption).foregroundColor(.accentColor)
                        }
                    }
                }
                .onAppear { if row.id == model.rows.last?.id { Task { await m.run { $0.loadMore() } } } }
            }
        }
        .searchable(text: $query, prompt: Text("households.search"))
        .onChange(of: query) { q in Task { await m.run { $0.setSearch(text: q) } } }
        .task { await m.run { $0.refresh() } }
    }
}

struct HouseholdView: View {
    @StateObject var m: Observed<HouseholdDetailScreen, HouseholdDetailView>
    let lang: Lang

    var body: some View {
        let model = m.view
        List {
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            if let h = model.household {
                Section {
                    Text(h.addressDisplay).font(.title2)
                    NavigationLink("household.record_visit", value: Route.visit(h.id))
                }
                if let conflicts = model.items?.conflicts, !conflicts.isEmpty {
                    Section("household.conflicts") {
                        ForEach(conflicts, id: \.path) { c in
                            VStack(alignment: .leading) {
                                Text(String(format: String(localized: "household.conflict_field"), c.path))
                                ForEach(Array(c.options.enumerated()), id: \.offset) { i, o in
                                    Button(String(format: String(localized: "household.conflict_keep"), o.value, o.by.name, dateTime(o.at))) {
                                        Task { _ = await m.run { $0.settle(docId: c.docId, path: c.path, choice: UInt32(i)) } }
                                    }
                                }
                            }
                        }
                    }
                }
                Section("household.residents") {
                    ForEach(h.residents.filter { !$0.movedOut }, id: \.id) { r in
                        VStack(alignment: .leading) {
                            Text("\(r.name)（\(r.relation)）")
                            if let phone = r.phone { Text(phone).font(.caption) }
                            if !r.tags.isEmpty {
                                Text(r.tags.map { attentionTagLabel(value: $0, lang: lang) }.joined(separator: " · "))
                                    .font(.caption).foregroundColor(.accentColor)
                            }
                        }
                    }
                }
                if let tasks = model.items?.tasks, !tasks.isEmpty {
                    Section("household.tasks") {
                        ForEach(tasks, id: \.id) { t in
                            Text("\(t.need) · \(taskStatusLabel(value: t.status, lang: lang))")
                        }
                    }
                }
                if let appeals = model.items?.appeals, !appeals.isEmpty {
                    Section("household.appeals") {
                        ForEach(appeals, id: \.id) { a in
                            NavigationLink(value: Route.appeal(a.id)) {
                                Text("\(topicLabel(code: a.topic, lang: lang)) · \(deadlineWords(deadline: a.deadline, lang: lang))")
                            }
                        }
                    }
                }
                Section("household.visits") {
                    ForEach(model.visits, id: \.id) { v in
                        VStack(alignment: .leading) {
                            Text("\(dateTime(v.at)) · \(visitKindLabel(value: v.kind, lang: lang)) · \(v.by.name)").font(.caption)
                            if !v.notes.isEmpty { Text(v.notes) }
                        }
                    }
                }
            }
        }
        .task { await m.run { $0.refresh() } }
    }
}

struct VisitView: View {
    @StateObject var m: Observed<VisitFormScreen, VisitFormView>
    let store: DoorstepStore
    let lang: Lang
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        let model = m.view
        Form {
            Picker("visit.kind", selection: m.binding({ $0.kind }, { $0.setKind(kind: $1) })) {
                ForEach(VisitKind.allCases, id: \.self) { Text(visitKindLabel(value: $0, lang: lang)).tag($0) }
            }
            .pickerStyle(.segmented)
            // The visit plan's questions (十必问): ticked as they are asked and answered.
            if let plan = model.plan {
                Section(String(format: String(localized: "visit.plan"), plan.name, plan.days)) {
                    ForEach(model.checklist, id: \.id) { q in
                        Toggle(q.text, isOn: Binding(get: { q.answered },
                                                     set: { on in m.now { $0.setAnswered(questionId: q.id, answered: on) } }))
                    }
                }
            }
            Section("visit.needs") {
                ScrollView(.horizontal, showsIndicators: false) {
                    HStack {
                        ForEach(quickNeeds(), id: \.self) { n in
                            Toggle(n, isOn: Binding(get: { model.needs.contains(n) }, set: { _ in m.now { $0.toggleNeed(need: n) } }))
                                .toggleStyle(.button)
                        }
                    }
                }
                TextField("visit.notes", text: m.binding({ $0.notes }, { $0.setNotes(notes: $1) }), axis: .vertical)
                PhotoRow(store: store, photos: model.photos,
                         add: { data in _ = await m.run { $0.addPhoto(bytes: data) } },
                         remove: { h in m.now { $0.removePhoto(hash: h) } })
            }
            Section {
                Toggle("visit.open_task", isOn: m.binding({ $0.openTask }, { $0.setOpenTask(on: $1) }))
                if model.openTask {
                    TextField("visit.task_need", text: m.binding({ $0.taskNeed }, { $0.setTaskNeed(text: $1) }))
                    Picker("visit.due", selection: m.binding({ $0.taskDueDays }, { $0.setTaskDueDays(days: $1) })) {
                        Text("visit.no_due").tag(UInt32?.none)
                        ForEach([UInt32(1), 3, 7], id: \.self) { d in
                            Text(String(format: String(localized: "visit.due_days"), d)).tag(UInt32?.some(d))
                        }
                    }
                }
            }
            Section {
                Toggle("visit.open_appeal", isOn: m.binding({ $0.openAppeal }, { $0.setOpenAppeal(on: $1) }))
                if model.openAppeal {
                    Picker("visit.topic", selection: m.binding({ $0.appealTopic }, { $0.setAppealTopic(code: $1) })) {
                        ForEach(knownTopics(), id: \.self) { Text(topicLabel(code: $0, lang: lang)).tag($0) }
                    }
                    Picker("visit.tier", selection: m.binding({ $0.appealTier }, { $0.setAppealTier(tier: $1) })) {
                        ForEach(Tier.allCases, id: \.self) { Text(tierLabel(value: $0, lang: lang)).tag($0) }
                    }
                    TextField("visit.appeal_summary", text: m.binding({ $0.appealSummary }, { $0.setAppealSummary(text: $1) }), axis: .vertical)
                }
            }
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            Button("visit.save") { Task { _ = await m.run { $0.save() } } }.disabled(model.saving)
        }
        .onChange(of: model.saved?.visitId) { _ in if model.saved != nil { dismiss() } }
    }
}

/// The liaison lead's list, in large type: one big button to claim, one to finish.
struct HelpListView: View {
    @StateObject var m: Observed<HelpTasksScreen, HelpTasksView>
    let store: DoorstepStore

    var body: some View {
        let model = m.view
        List {
            if let p = model.problem { Text(p.text).font(.title3).foregroundColor(.red) }
            ForEach(model.lost, id: \.id) { t in
                Text(String(format: String(localized: "help.lost"), t.need, t.claimantName ?? "")).font(.title3).foregroundColor(.orange)
            }
            Section {
                // A photo for the task about to be marked done (what was bought, home safe).
                if !model.mine.isEmpty {
                    PhotoRow(store: store, photos: model.photos,
                             add: { data in _ = await m.run { $0.addPhoto(bytes: data) } },
                             remove: { h in m.now { $0.removePhoto(hash: h) } })
                }
                ForEach(model.mine, id: \.id) { t in card(t, "help.done") { _ = await m.run { $0.done(taskId: t.id, note: "") } } }
            } header: { Text("help.mine").font(.title2.bold()) }
            Section {
                ForEach(model.open, id: \.id) { t in card(t, "help.claim") { _ = await m.run { $0.claim(taskId: t.id) } } }
            } header: { Text("help.open").font(.title2.bold()) }
            Section {
                ForEach(model.doneRecently, id: \.id) { t in Text("✓ \(t.need) · \(t.householdName)").font(.title3) }
            } header: { Text("help.done_recently").font(.title2.bold()) }
        }
        .task { await m.run { $0.refresh() } }
    }

    private func card(_ t: TaskRow, _ action: LocalizedStringKey, _ run: @escaping () async -> Void) -> some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(t.need).font(.title.bold())
            Text("\(t.householdName) · \(t.address)").font(.title3)
            if let phone = t.phone { Text(phone).font(.title3) }
            Button { Task { await run() } } label: {
                Text(action).font(.title2.bold()).frame(maxWidth: .infinity, minHeight: 56)
            }
            .buttonStyle(.borderedProminent)
        }
        .padding(.vertical, 8)
    }
}

struct LedgerView: View {
    @StateObject var m: Observed<AppealLedgerScreen, AppealLedgerView>
    let lang: Lang
    private let minute = Timer.publish(every: 60, on: .main, in: .common).autoconnect()

    var body: some View {
        List {
            Toggle("ledger.overdue_only", isOn: Binding(get: { m.view.overdueOnly },
                                                         set: { on in Task { await m.run { $0.setOverdueOnly(on: on) } } }))
            if let p = m.view.problem { Text(p.text).foregroundColor(.red) }
            if m.view.total > 0 { Text(String(format: NSLocalizedString("ledger.total", comment: ""), Int(m.view.total))).font(.caption) }
            ForEach(m.view.lines, id: \.id) { row in
                NavigationLink(value: Route.appeal(row.id)) {
                    VStack(alignment: .leading) {
                        Text(deadlineWords(deadline: row.deadline, lang: lang)).font(.headline)
                            .foregroundColor({ if case .overdue = row.deadline { return Color.red } else { return Color.primary } }())
                        Text("\(topicLabel(code: row.topic, lang: lang)) · \(tierLabel(value: row.tier, lang: lang))")
                        Text(row.summary).font(.caption)
                    }
                }
                // The core reads 50 rows at a time: the next ones when the last comes into view.
                .onAppear { if m.view.more && row.id == m.view.lines.last?.id { Task { await m.run { $0.loadMore() } } } }
            }
        }
        .task { await m.run { $0.refresh() } }
        .onReceive(minute) { _ in Task { await m.run { $0.tick() } } }
    }
}

struct AppealView: View {
    @StateObject var m: Observed<AppealDetailScreen, AppealDetailView>
    let store: DoorstepStore
    let lang: Lang
    @State private var note = ""
    @State private var satisfaction: UInt8?

    var body: some View {
        let model = m.view
        List {
            if let a = model.appeal {
                Section {
                    Text(topicLabel(code: a.topic, lang: lang)).font(.title2)
                    Text(deadlineWords(deadline: a.deadline, lang: lang)).font(.headline)
                    Text("\(channelLabel(value: a.channel, lang: lang)) · \(appealStatusLabel(value: a.status, lang: lang))")
                    Text(a.summary)
                }
                Section {
                    TextField("appeal.note", text: $note)
                    // Photos go with the next action taken.
                    PhotoRow(store: store, photos: model.photos,
                             add: { data in _ = await m.run { $0.addPhoto(bytes: data) } },
                             remove: { h in m.now { $0.removePhoto(hash: h) } })
                    if model.actions.contains(.feedback) {
                        Picker("appeal.satisfaction", selection: $satisfaction) {
                            Text("—").tag(UInt8?.none)
                            ForEach(1...5, id: \.self) { n in Text("\(n)").tag(UInt8?.some(UInt8(n))) }
                        }
                    }
                    if let p = model.problem { Text(p.text).foregroundColor(.red) }
                    ForEach(model.buttons, id: \.self) { kind in
                        Button(appealEventLabel(value: kind, lang: lang)) {
                            Task {
                                let (n, s) = (note, satisfaction)
                                if await m.run({ $0.take(kind: kind, note: n, satisfaction: s) }) { note = "" }
                            }
                        }
                        .disabled(kind == .feedback && satisfaction == nil)
                    }
                }
                Section("appeal.history") {
                    ForEach(a.events.reversed(), id: \.id) { e in
                        Text("\(dateTime(e.at)) · \(e.by.name) \(e.note)").font(.caption)
                        if !e.photos.isEmpty { PhotoRow(store: store, photos: e.photos, readOnly: true) }
                    }
                }
            }
        }
        .task { await m.run { $0.refresh() } }
    }
}

struct SummaryView: View {
    @StateObject var m: Observed<GridSummaryScreen, GridSummaryView>

    var body: some View {
        let model = m.view
        List {
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            // A supervisor's phone holds no households: the figures are the server's, as of its last sync.
            if let at = model.asOf { Text(String(format: String(localized: "summary.as_of"), dateTime(at))).font(.caption) }
            // The core's percents: one per grid, in order.
            ForEach(Array(model.grids.enumerated()), id: \.element.grid) { i, g in
                VStack(alignment: .leading, spacing: 4) {
                    Text(g.grid).font(.title3.bold())
                    Text(String(format: String(localized: "summary.coverage"), g.visited30Days, g.households, model.coveragePercent[i]))
                    ProgressView(value: Double(model.coveragePercent[i]), total: 100)
                    Text(String(format: String(localized: "summary.never"), g.neverVisited))
                    Text(String(format: String(localized: "summary.attention"), g.attention))
                    Text(String(format: String(localized: "summary.tasks"), g.openTasks))
                    Text(String(format: String(localized: "summary.appeals"), g.openAppeals, g.overdueAppeals))
                        .foregroundColor(g.overdueAppeals > 0 ? .red : .primary)
                    if g.planHouseholds > 0 {
                        Text(String(format: String(localized: "summary.plan"), g.planOverdue, g.planHouseholds))
                            .foregroundColor(g.planOverdue > 0 ? .red : .primary)
                    }
                }
            }
        }
        .task { await m.run { $0.refresh() } }
    }
}

func ago(_ at: Int64) -> String {
    RelativeDateTimeFormatter().localizedString(for: Date(timeIntervalSince1970: TimeInterval(at) / 1000), relativeTo: Date())
}

func dateTime(_ at: Int64) -> String {
    DateFormatter.localizedString(from: Date(timeIntervalSince1970: TimeInterval(at) / 1000), dateStyle: .short, timeStyle: .short)
}
