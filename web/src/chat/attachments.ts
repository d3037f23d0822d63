// Chat files: uploads with progress (the API module's XMLHttpRequest upload) and downloads that
// keep the file's name (the file needs the token, so it is fetched and saved from memory).
import { api, call, client, type Schemas } from "$lib/api";

export type Attachment = Schemas["chat_AttachmentOut"];

export async function uploadAttachment(
  file: File,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<Attachment> {
  const answer = await api.upload<Schemas["chat_AttachmentEnvelopeOut"]>(
    "/api/chat/attachments",
    file,
    signal ? { onProgress, signal } : { onProgress },
  );
  return answer.attachment;
}

/** The file's bytes, read with the session's token. */
export async function attachmentBlob(attachment: Attachment): Promise<Blob> {
  return call(
    client.GET("/api/chat/attachments/{attachment_id}", {
      params: { path: { attachment_id: attachment.id } },
      parseAs: "blob",
    }),
  ) as Promise<Blob>;
}

/** Saves the file under its original name. */
export async function downloadAttachment(attachment: Attachment): Promise<void> {
  const blob = await attachmentBlob(attachment);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = attachment.filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Images are shown in the chat (the others as a file to download). */
export function isImage(attachment: Attachment): boolean {
  return /^image\/(png|jpeg|gif|webp|avif)$/.test(attachment.contentType);
}
