/**
 * What a failed multipart upload of a token file means to the client, for the console and the
 * API alike: over the limit is a 413 naming it, anything else the client's malformed form (a
 * missing boundary, a cut-off body: busboy's plain Errors, which were 500s), a 400.
 */
import multer from 'multer';
import { BadRequestError, PayloadTooLargeError } from '../lib/errors';
import { IMPORT_MAX_BYTES } from '../tokens/import/import.types';

export function fileTooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`The file is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MB (${IMPORT_MAX_BYTES} bytes). Split it into smaller files.`);
}

export function uploadError(err: unknown): Error {
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return fileTooLarge();
    if (err.code === 'LIMIT_UNEXPECTED_FILE') return new BadRequestError('Send one file, in the field named "file".');
    return new BadRequestError(`The form has too many or too large parts (${err.message}). Send the file in "file" with at most "format", "password" and "preSharedKey".`);
  }
  return new BadRequestError('The upload could not be read: the form was incomplete or malformed. Try again.');
}
