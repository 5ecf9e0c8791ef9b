// Streams a file through SHA-256, so multi-gigabyte images are never held in memory.
using System.Security.Cryptography;

namespace Appliance.ImageBuilder.Signing;

/// <summary>SHA-256 of files.</summary>
public static class FileDigest
{
    /// <summary>The SHA-256 of the file at <paramref name="path"/>; a missing file is a <see cref="FileNotFoundException"/> naming it.</summary>
    public static byte[] Sha256(string path)
    {
        if (Directory.Exists(path))
            throw new InvalidDataException($"{path}: is a directory; expected a file");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: file not found", path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return SHA256.HashData(fs);
    }
}
