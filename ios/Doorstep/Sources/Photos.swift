import DoorstepCore
import PhotosUI
import SwiftUI
import UIKit

/// The photos of the record being written (issue 21): the camera and the photo library
/// (PhotosPicker, no library permission needed). Other formats than JPEG are handed over as JPEG;
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
                if let data = try? await item.loadTransferable(type: Data.self) { await add(asJpeg(data)) }
                picked = nil
            }
        }
        .sheet(isPresented: $camera) {
            CameraPicker { data in Task { await add(data) } }
        }
    }

    /// Any format but JPEG (HEIC, the iPhone's own, PNG, WebP…) as a JPEG at high quality: the
    /// core takes JPEG only (issue 23), and UIImage reads every format the library shows. Not a
    /// picture: handed over as it is, and the core says so.
    private func asJpeg(_ data: Data) -> Data {
        let jpeg = data.count > 3 && data[data.startIndex] == 0xFF && data[data.startIndex + 1] == 0xD8 && data[data.startIndex + 2] == 0xFF
        guard !jpeg, let image = UIImage(data: data) else { return data }
        // Drawn on white first: JPEG has no transparency (a screenshot's clear parts).
        let format = UIGraphicsImageRendererFormat.default()
        format.opaque = true
        format.scale = image.scale
        let flat = UIGraphicsImageRenderer(size: image.size, format: format).image { ctx in
            UIColor.white.setFill()
            ctx.fill(CGRect(origin: .zero, size: image.size))
            image.draw(at: .zero)
        }
        return flat.jpegData(compressionQuality: 0.95) ?? data
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
