// A key pair on disk (plus a second, unrelated one) shared by the tests of one class.
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Tests.Signing;

/// <summary>Two key pairs in a temp directory; the first is "ours", the second "another key".</summary>
public sealed class KeyFixture : IDisposable
{
    /// <summary>The password of both private keys.</summary>
    public const string Password = "correct horse battery staple";

    private readonly TempDir _dir = new();

    /// <summary>Creates both pairs with the production PBKDF2 iteration count.</summary>
    public KeyFixture()
    {
        Key = SigningKey.Generate();
        Files = KeyPairFiles.In(_dir["ours"]);
        Files.Write(Key, Password);
        Other = SigningKey.Generate();
        OtherFiles = KeyPairFiles.In(_dir["other"]);
        OtherFiles.Write(Other, Password);
    }

    /// <summary>Our key.</summary>
    public SigningKey Key { get; }

    /// <summary>Our key's files.</summary>
    public KeyPairFiles Files { get; }

    /// <summary>Another key.</summary>
    public SigningKey Other { get; }

    /// <summary>The other key's files.</summary>
    public KeyPairFiles OtherFiles { get; }

    /// <summary>The environment the CLI runs with: the password and a fixed SOURCE_DATE_EPOCH.</summary>
    public static IReadOnlyDictionary<string, string?> Env { get; } = new Dictionary<string, string?>
    {
        ["APPLIANCE_KEY_PASSWORD"] = Password,
        ["SOURCE_DATE_EPOCH"] = "1700000000",
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        Key.Dispose();
        Other.Dispose();
        _dir.Dispose();
    }
}
