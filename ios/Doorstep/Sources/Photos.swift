import DoorstepCore
import PhotosUI
import SwiftUI
import UIKit

/// The photos of the record being written (issue 21): the camera and the photo library
/// (PhotosPicker, no library permission needed). HEIC from the library is handed over as JPEG;
/// the core checks the bytes, makes them small and keeps them encrypted, and a wrong file shows
/// the screen's problem. Thumbnails come from the store.
struct PhotoRow: View {
    let store: DoorstepStore
    let photos: [Photo]
    var readOnly = false
    var add: (Data) async -> Void = { _ in }
    var remove: (String) -> Void = { _ in }
    @State private var picked: PhotosPickerItem?
    @State private var camera = false

    var body: some View {
        ScrollView(.horizontal, showsIndicators: false) {
            HStack {
                ForEach(photos, id: \.hash) { p in
                    ZStack(alignment: .topTrailing) {
                        Thumbnail(store: store, hash: p.thumb)
                        if !readOnly { Button("×") { remove(p.hash) } }
                    }
                }
                if !readOnly && photos.count < 10 {
                    if UIImagePickerController.isSourceTypeAvailable(.camera) {
                        Button("photo.camera") { camera = true }.buttonStyle(.bordered)
                    }
                    PhotosPicker("photo.gallery", selection: $picked, matching: .images).buttonStyle(.bordered)
                }
            }
        }
        .onChange(of: picked) { item in
            guard let item else { return }
            Task {
                if let data = try? await item.loadTransferable(type: Data.self) { await add(jpegIfHeic(data)) }
                picked = nil
            }
        }
        .sheet(isPresented: $camera) {
            CameraPicker { data in Task { await add(data) } }
        }
    }

    /// HEIC (the iPhone's own format) as JPEG at full quality: the core takes JPEG, PNG and WebP.
    private func jpegIfHeic(_ data: Data) -> Data {
        let heic = data.count > 12 && String(data: data[4..<12], encoding: .ascii)?.hasPrefix("ftyphei") == true
        guard heic, let image = UIImage(data: data), let jpeg = image.jpegData(compressionQuality: 0.95) else { return data }
        return jpeg
    }
}

private struct Thumbnail: View {
    let store: DoorstepStore
    let hash: String
    @State private var image: UIImage?

    var body: some View {
        Group {
            if let image { Image(uiImage: image).resizable().scaledToFit() } else { Color.gray.opacity(0.2) }
        }
        .frame(width: 72, height: 72)
        .task(id: hash) {
            let s = store
            let h = hash
            let data = await Task.detached { (try? s.photoBytes(hash: h)) ?? nil }.value
            image = data.flatMap(UIImage.init(data:))
        }
    }
}

/// The system camera; the photo as JPEG.
private struct CameraPicker: UIViewControllerRepresentable {
    let done: (Data) -> Void
    @Environment(\.dismiss) private var dismiss

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let c = UIImagePickerController()
        c.sourceType = .camera
        c.delegate = context.coordinator
        return c
    }

    func updateUIViewController(_ controller: UIImagePickerController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(self) }

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let parent: CameraPicker
        init(_ parent: CameraPicker) { self.parent = parent }

        func imagePickerController(_ picker: UIImagePickerController,
                                   didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage, let jpeg = image.jpegData(compressionQuality: 0.95) {
                parent.done(jpeg)
            }
            parent.dismiss()
        }

        func imagePickerControllerDidCancel(_ picker: UIImagePickerController) { parent.dismiss() }
    }
}
