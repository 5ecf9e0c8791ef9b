// Hashes a whole directory tree (names, kinds, modes, sizes, contents) to show a store did not change.
using System.Security.Cryptography;
using System.Text;

namespace Appliance.ImageBuilder.Tests.Store;

/// <summary>A digest of every entry below a directory.</summary>
public static class TreeHash
{
    /// <summary>sha256 over the sorted list of (path, kind, mode, content hash).</summary>
    public static string Of(string root)
    {
        var sb = new StringBuilder();
        foreach (var p in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(root, p);
            if (Directory.Exists(p))
                sb.Append($"d {rel}\n");
            else
                sb.Append($"f {rel} {new FileInfo(p).Length} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))}\n");
        }
        return sb.ToString();
    }
}
