// Writes a new key pair to a directory: the private key 0600 through temp+rename, never over an existing key.
namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>The file names of a key pair in a directory.</summary>
public sealed record KeyPairFiles(string PrivateKeyPath, string PublicKeyPath)
{
    /// <summary>File name of the encrypted private key.</summary>
    public const string PrivateKeyName = "appliance.key";

    /// <summary>File name of the public key.</summary>
    public const string PublicKeyName = "appliance.pub";

    /// <summary>The key pair paths inside <paramref name="directory"/>.</summary>
    public static KeyPairFiles In(string directory) =>
        new(Path.Combine(directory, PrivateKeyName), Path.Combine(directory, PublicKeyName));

    /// <summary>
    /// Writes <paramref name="key"/> encrypted with <paramref name="password"/>, and its public key.
    /// Refuses (with <see cref="IOException"/>) when either file already exists, before writing anything.
    /// </summary>
    public void Write(SigningKey key, string password, int iterations = SigningKey.Pbkdf2Iterations)
    {
        foreach (var p in new[] { PrivateKeyPath, PublicKeyPath })
            if (File.Exists(p))
                throw new IOException($"{p}: already exists; refusing to overwrite a key (move it away or pick another directory)");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(PrivateKeyPath))!);
        AtomicFile.Write(PrivateKeyPath, key.ToEncryptedPemBytes(password, iterations),
            new(Mode: AtomicFileOptions.OwnerOnly, Overwrite: false));
        AtomicFile.Write(PublicKeyPath, key.Public.ToPemBytes(),
            new(Mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, Overwrite: false));
    }
}
