import DoorstepCore
import SwiftUI
import VisionKit

// The screens: they draw a model's state and call its actions, nothing more.

struct SyncBar: View {
    @ObservedObject var model: SyncModel
    var onSynced: () -> Void

    var body: some View {
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
                ForEach(model.refused, id: \.docId) { r in
                    HStack {
                        Text(String(format: String(localized: "sync.refused"), model.reason(r),
                                    r.actions.joined(separator: ", ")))
                            .font(.caption).foregroundColor(.red)
                        Button("sync.refused_drop") { Task { await model.dropRefused(r.docId) } }
                    }
                }
            }
            Spacer()
            if model.running {
                ProgressView()
            } else {
                Button("sync.now") { Task { if await model.syncNow() { onSynced() } } }
            }
        }
        .padding(.horizontal).padding(.vertical, 6)
        .background(model.problem == nil ? Color(.secondarySystemBackground) : Color.red.opacity(0.12))
        .task { await model.refresh() }
    }
}

struct EnrollView: View {
    @StateObject var model: EnrollmentModel
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
                TextField("enroll.server", text: $model.serverUrl)
                    .keyboardType(.URL).textInputAutocapitalization(.never).autocorrectionDisabled()
                TextField("enroll.code", text: $model.code)
                    .textInputAutocapitalization(.characters).autocorrectionDisabled()
                if let p = model.problem { Text(p.text).foregroundColor(.red) }
                Button(model.busy ? "enroll.busy" : "enroll.submit") { Task { await model.submit() } }
                    .disabled(model.busy)
            }
        }
        .navigationTitle("enroll.title")
        .sheet(isPresented: $scanning) {
            QRScanner { text in
                scanning = false
                Task { await model.scanned(text) }
            }
        }
        .onChange(of: model.enrolled?.deviceId) { _ in
            if let e = model.enrolled { onEnrolled(e) }
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
    @StateObject var model: HouseholdsModel
    let core: Core
    @State private var query = ""

    var body: some View {
        List {
            ScrollView(.horizontal, showsIndicators: false) {
                HStack {
                    Toggle("households.not_visited", isOn: Binding(
                        get: { model.notVisitedLately },
                        set: { on in Task { await model.setNotVisitedLately(on) } }))
                        .toggleStyle(.button)
                    ForEach(AttentionTag.allCases, id: \.self) { tag in
                        Toggle(attentionTagLabel(value: tag, lang: core.lang), isOn: Binding(
                            get: { model.tag == tag },
                            set: { on in Task { await model.setTag(on ? tag : nil) } }))
                            .toggleStyle(.button)
                    }
                }
            }
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            ForEach(model.rows, id: \.id) { row in
                NavigationLink(value: Route.household(row.id)) {
                    VStack(alignment: .leading) {
                        Text("\(row.address)  \(row.name)").font(.headline)
                        Text(row.lastVisitAt.map { String(format: String(localized: "households.visited"), ago($0)) }
                             ?? String(localized: "households.never_visited")).font(.caption)
                        if !row.tags.isEmpty {
                            Text(row.tags.map { attentionTagLabel(value: $0, lang: core.lang) }.joined(separator: " · "))
                                .font(.caption).foregroundColor(.accentColor)
                        }
                    }
                }
                .onAppear { if row.id == model.rows.last?.id { Task { await model.loadMore() } } }
            }
        }
        .searchable(text: $query, prompt: Text("households.search"))
        .onChange(of: query) { q in Task { await model.setSearch(q) } }
        .task { await model.refresh() }
    }
}

struct HouseholdView: View {
    @StateObject var model: HouseholdModel
    let core: Core

    var body: some View {
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
                                        Task { await model.settle(c, choice: i) }
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
                                Text(r.tags.map { attentionTagLabel(value: $0, lang: core.lang) }.joined(separator: " · "))
                                    .font(.caption).foregroundColor(.accentColor)
                            }
                        }
                    }
                }
                if let tasks = model.items?.tasks, !tasks.isEmpty {
                    Section("household.tasks") {
                        ForEach(tasks, id: \.id) { t in
                            Text("\(t.need) · \(taskStatusLabel(value: t.status, lang: core.lang))")
                        }
                    }
                }
                if let appeals = model.items?.appeals, !appeals.isEmpty {
                    Section("household.appeals") {
                        ForEach(appeals, id: \.id) { a in
                            NavigationLink(value: Route.appeal(a.id)) {
                                Text("\(topicLabel(code: a.topic, lang: core.lang)) · \(deadlineWords(deadline: a.deadline, lang: core.lang))")
                            }
                        }
                    }
                }
                Section("household.visits") {
                    ForEach(model.visits, id: \.id) { v in
                        VStack(alignment: .leading) {
                            Text("\(dateTime(v.at)) · \(visitKindLabel(value: v.kind, lang: core.lang)) · \(v.by.name)").font(.caption)
                            if !v.notes.isEmpty { Text(v.notes) }
                        }
                    }
                }
            }
        }
        .task { await model.refresh() }
    }
}

struct VisitView: View {
    @StateObject var model: VisitModel
    let core: Core
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        Form {
            Picker("visit.kind", selection: $model.kind) {
                ForEach(VisitKind.allCases, id: \.self) { Text(visitKindLabel(value: $0, lang: core.lang)).tag($0) }
            }
            .pickerStyle(.segmented)
            Section("visit.needs") {
                ScrollView(.horizontal, showsIndicators: false) {
                    HStack {
                        ForEach(model.quickNeeds, id: \.self) { n in
                            Toggle(n, isOn: Binding(get: { model.needs.contains(n) }, set: { _ in model.toggleNeed(n) }))
                                .toggleStyle(.button)
                        }
                    }
                }
                TextField("visit.notes", text: $model.notes, axis: .vertical)
            }
            Section {
                Toggle("visit.open_task", isOn: $model.openTask)
                if model.openTask {
                    TextField("visit.task_need", text: $model.taskNeed)
                    Picker("visit.due", selection: $model.taskDueDays) {
                        Text("visit.no_due").tag(Int?.none)
                        ForEach([1, 3, 7], id: \.self) { d in
                            Text(String(format: String(localized: "visit.due_days"), d)).tag(Int?.some(d))
                        }
                    }
                }
            }
            Section {
                Toggle("visit.open_appeal", isOn: $model.openAppeal)
                if model.openAppeal {
                    Picker("visit.topic", selection: $model.appealTopic) {
                        ForEach(model.topics, id: \.self) { Text(topicLabel(code: $0, lang: core.lang)).tag($0) }
                    }
                    Picker("visit.tier", selection: $model.appealTier) {
                        ForEach(Tier.allCases, id: \.self) { Text(tierLabel(value: $0, lang: core.lang)).tag($0) }
                    }
                    TextField("visit.appeal_summary", text: $model.appealSummary, axis: .vertical)
                }
            }
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            Button("visit.save") { Task { await model.save() } }.disabled(model.saving)
        }
        .onChange(of: model.saved?.visitId) { _ in if model.saved != nil { dismiss() } }
    }
}

/// The liaison lead's list, in large type: one big button to claim, one to finish.
struct HelpListView: View {
    @StateObject var model: HelpListModel

    var body: some View {
        List {
            if let p = model.problem { Text(p.text).font(.title3).foregroundColor(.red) }
            ForEach(model.lost, id: \.id) { t in
                Text(String(format: String(localized: "help.lost"), t.need, t.claimantName ?? "")).font(.title3).foregroundColor(.orange)
            }
            Section {
                ForEach(model.mine, id: \.id) { t in card(t, "help.done") { await model.done(t.id) } }
            } header: { Text("help.mine").font(.title2.bold()) }
            Section {
                ForEach(model.open, id: \.id) { t in card(t, "help.claim") { await model.claim(t.id) } }
            } header: { Text("help.open").font(.title2.bold()) }
            Section {
                ForEach(model.doneRecently, id: \.id) { t in Text("✓ \(t.need) · \(t.householdName)").font(.title3) }
            } header: { Text("help.done_recently").font(.title2.bold()) }
        }
        .task { await model.refresh() }
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
    @StateObject var model: LedgerModel
    let core: Core
    private let minute = Timer.publish(every: 60, on: .main, in: .common).autoconnect()

    var body: some View {
        List {
            Toggle("ledger.overdue_only", isOn: Binding(get: { model.overdueOnly },
                                                         set: { on in model.overdueOnly = on }))
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            ForEach(model.lines) { line in
                NavigationLink(value: Route.appeal(line.id)) {
                    VStack(alignment: .leading) {
                        Text(line.countdown).font(.headline).foregroundColor(line.overdue ? .red : .primary)
                        Text("\(topicLabel(code: line.row.topic, lang: core.lang)) · \(tierLabel(value: line.row.tier, lang: core.lang))")
                        Text(line.row.summary).font(.caption)
                    }
                }
            }
        }
        .task { await model.refresh() }
        .onReceive(minute) { _ in Task { await model.refresh() } }
    }
}

struct AppealView: View {
    @StateObject var model: AppealModel
    let core: Core
    @State private var note = ""
    @State private var satisfaction: UInt8?

    var body: some View {
        List {
            if let a = model.appeal {
                Section {
                    Text(topicLabel(code: a.topic, lang: core.lang)).font(.title2)
                    Text(model.countdown).font(.headline)
                    Text("\(channelLabel(value: a.channel, lang: core.lang)) · \(appealStatusLabel(value: a.status, lang: core.lang))")
                    Text(a.summary)
                }
                Section {
                    TextField("appeal.note", text: $note)
                    if model.actions.contains(.feedback) {
                        Picker("appeal.satisfaction", selection: $satisfaction) {
                            Text("—").tag(UInt8?.none)
                            ForEach(1...5, id: \.self) { n in Text("\(n)").tag(UInt8?.some(UInt8(n))) }
                        }
                    }
                    if let p = model.problem { Text(p.text).foregroundColor(.red) }
                    ForEach(model.actions.filter { $0 != .assigned && $0 != .whistled }, id: \.self) { kind in
                        Button(appealEventLabel(value: kind, lang: core.lang)) {
                            Task { await model.act(action(kind)); note = "" }
                        }
                        .disabled(kind == .feedback && satisfaction == nil)
                    }
                }
                Section("appeal.history") {
                    ForEach(a.events.reversed(), id: \.id) { e in
                        Text("\(dateTime(e.at)) · \(e.by.name) \(e.note)").font(.caption)
                    }
                }
            }
        }
        .task { await model.refresh() }
    }

    private func action(_ kind: AppealEventKind) -> AppealAction {
        switch kind {
        case .accepted: return .accept
        case .escalated: return .escalate(note: note)
        case .progress: return .progress(note: note)
        case .resolved: return .resolve(note: note)
        case .feedback: return .feedback(satisfaction: satisfaction ?? 0, note: note)
        case .closed: return .close(note: note)
        default: return .reopen(note: note)
        }
    }
}

struct SummaryView: View {
    @StateObject var model: SummaryModel

    var body: some View {
        List {
            if let p = model.problem { Text(p.text).foregroundColor(.red) }
            ForEach(model.grids, id: \.grid) { g in
                VStack(alignment: .leading, spacing: 4) {
                    Text(g.grid).font(.title3.bold())
                    Text(String(format: String(localized: "summary.coverage"), g.visited30Days, g.households, model.percent(g)))
                    ProgressView(value: Double(model.percent(g)), total: 100)
                    Text(String(format: String(localized: "summary.never"), g.neverVisited))
                    Text(String(format: String(localized: "summary.attention"), g.attention))
                    Text(String(format: String(localized: "summary.tasks"), g.openTasks))
                    Text(String(format: String(localized: "summary.appeals"), g.openAppeals, g.overdueAppeals))
                        .foregroundColor(g.overdueAppeals > 0 ? .red : .primary)
                }
            }
        }
        .task { await model.refresh() }
    }
}

func ago(_ at: Int64) -> String {
    RelativeDateTimeFormatter().localizedString(for: Date(timeIntervalSince1970: TimeInterval(at) / 1000), relativeTo: Date())
}

func dateTime(_ at: Int64) -> String {
    DateFormatter.localizedString(from: Date(timeIntervalSince1970: TimeInterval(at) / 1000), dateStyle: .short, timeStyle: .short)
}
